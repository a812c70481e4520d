"""The example project against a live sessiond (SESSIOND_URL), driven by Django's test client.

Run by scripts/test-python (which starts the daemon), or by hand:
``SESSIOND_URL=http://127.0.0.1:8080 python manage.py test`` from examples/django.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, TestCase, override_settings

from sessiond.django import get_client


# A fast hasher: the tests log in often (production keeps Django's default).
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class ExampleProjectTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.alice = User.objects.create_user("alice", password="wonderland")
        cls.bob = User.objects.create_user("bob", password="builder")

    def setUp(self):
        self.sd = get_client()

    def tearDown(self):
        for user in (self.alice, self.bob):
            self.sd.delete_user_sessions(str(user.pk))

    def login(self, username, password):
        c = Client()
        r = c.post("/login/", {"username": username, "password": password})
        self.assertEqual(r.status_code, 302, r.content)
        return c

    @staticmethod
    def key(client):
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    def visits(self, client):
        r = client.get("/")
        self.assertEqual(r.status_code, 200)
        return int(r.content.split(b'<span id="visits">')[1].split(b"<")[0])

    def test_visit_counter_increments_across_requests(self):
        c = Client()
        self.assertEqual([self.visits(c) for _ in range(3)], [1, 2, 3])
        key = self.key(c)
        stored = self.sd.get(key, touch=False)
        self.assertEqual(stored["data"], {"visits": 3})
        self.assertIsNone(stored["user"])  # anonymous
        # Another browser has its own counter.
        self.assertEqual(self.visits(Client()), 1)

    def test_login_records_the_user_and_cycles_the_key(self):
        c = Client()
        self.visits(c)
        anonymous_key = self.key(c)
        c.post("/login/", {"username": "alice", "password": "wonderland"})
        key = self.key(c)
        self.assertNotEqual(key, anonymous_key)  # session-fixation defence
        self.assertFalse(self.sd.exists(anonymous_key))
        stored = self.sd.get(key, touch=False)
        self.assertEqual(stored["user"], str(self.alice.pk))
        self.assertEqual(stored["data"]["visits"], 1)  # kept across login
        self.assertEqual(stored["data"]["_auth_user_id"], str(self.alice.pk))
        self.assertIn(b"Logged in as <b>alice</b>", c.get("/").content)

    def test_wrong_password(self):
        r = Client().post("/login/", {"username": "alice", "password": "nope"})
        self.assertEqual(r.status_code, 401)
        self.assertEqual(self.sd.user_sessions(str(self.alice.pk)), [])

    def test_log_out_other_devices(self):
        laptop = self.login("alice", "wonderland")
        phone = self.login("alice", "wonderland")
        other_user = self.login("bob", "builder")
        self.visits(laptop)
        self.visits(phone)
        self.assertEqual(
            sorted(s["id"] for s in self.sd.user_sessions(str(self.alice.pk))),
            sorted([self.key(laptop), self.key(phone)]),
        )

        r = laptop.post("/logout-others/", HTTP_ACCEPT="application/json")
        self.assertEqual(r.json(), {"deleted": 1})

        # The phone's session is gone from sessiond, and the phone is logged out.
        self.assertFalse(self.sd.exists(self.key(phone)))
        self.assertIn(b"Not logged in", phone.get("/").content)
        # The laptop keeps its session, its data and its login.
        self.assertTrue(self.sd.exists(self.key(laptop)))
        self.assertIn(b"Logged in as <b>alice</b>", laptop.get("/").content)
        self.assertEqual(self.visits(laptop), 3)
        self.assertEqual([s["id"] for s in self.sd.user_sessions(str(self.alice.pk))], [self.key(laptop)])
        # Other users are untouched.
        self.assertIn(b"Logged in as <b>bob</b>", other_user.get("/").content)

    def test_my_sessions_lists_every_device(self):
        a = self.login("alice", "wonderland")
        b = self.login("alice", "wonderland")
        body = a.get("/sessions/").json()
        self.assertEqual(body["current"], self.key(a))
        self.assertEqual(sorted(s["id"] for s in body["sessions"]), sorted([self.key(a), self.key(b)]))

    def test_devices_page_shows_each_sessions_device(self):
        laptop = Client(HTTP_USER_AGENT="Laptop Firefox <b>", REMOTE_ADDR="192.0.2.10")
        laptop.post("/login/", {"username": "alice", "password": "wonderland"})
        phone = Client(HTTP_USER_AGENT="Phone Safari", REMOTE_ADDR="192.0.2.20")
        phone.post("/login/", {"username": "alice", "password": "wonderland"})
        self.visits(laptop)  # the laptop is now the most recently seen

        page = laptop.get("/devices/").content.decode()
        rows = page.split('<tr class="session')[1:]
        self.assertEqual(len(rows), 2, page)
        listed = self.sd.user_sessions(str(self.alice.pk))
        self.assertEqual([s.id for s in listed], [self.key(laptop), self.key(phone)])  # the daemon's order
        for row, s in zip(rows, listed):
            self.assertIn(f'data-id="{s.id}"', row)
            self.assertIn(f'<td class="last-seen">{s.last_seen_at}</td>', row)
        self.assertIn('<td class="user-agent">Laptop Firefox &lt;b&gt;</td>', rows[0])
        self.assertIn('<td class="ip">192.0.2.10</td>', rows[0])
        self.assertTrue(rows[0].startswith(' current"'))
        self.assertIn("<b>this device</b>", rows[0])
        self.assertIn('<td class="user-agent">Phone Safari</td>', rows[1])
        self.assertIn('<td class="ip">192.0.2.20</td>', rows[1])
        self.assertNotIn("this device", rows[1])
        # The JSON listing carries the same.
        body = phone.get("/sessions/").json()
        self.assertEqual([s["device"] for s in body["sessions"]],
                         [{"user_agent": "Laptop Firefox <b>", "ip": "192.0.2.10"},
                          {"user_agent": "Phone Safari", "ip": "192.0.2.20"}])
        self.assertTrue(all(s["last_seen_at"] for s in body["sessions"]))

        # After "log out my other devices", only this one is listed.
        page = laptop.post("/logout-others/").content.decode()
        self.assertIn('<span id="deleted">1</span>', page)
        self.assertEqual(page.count('<tr class="session'), 1)
        self.assertNotIn("Phone Safari", page)

    def test_devices_page_needs_login(self):
        r = Client().get("/devices/")
        self.assertEqual(r.status_code, 302)

    def test_logout_deletes_the_session_in_sessiond(self):
        c = self.login("alice", "wonderland")
        key = self.key(c)
        self.assertTrue(self.sd.exists(key))
        r = c.post("/logout/")
        self.assertEqual(r.status_code, 302)
        self.assertFalse(self.sd.exists(key))
        self.assertEqual(self.sd.user_sessions(str(self.alice.pk)), [])
        self.assertIn(b"Not logged in", c.get("/").content)

    def test_logout_others_needs_login(self):
        r = Client().post("/logout-others/")
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r["Location"].startswith("/login/"))

    def test_demo_user_command(self):
        from django.core.management import call_command

        call_command("demo_user", "carol", "secret", stdout=open("/dev/null", "w"))
        self.login("carol", "secret")
