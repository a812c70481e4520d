"""Django's own session-backend test suite, run against sessiond.

``SessionTestsMixin`` comes from Django's source distribution
(``tests/sessions_tests/tests.py``), fetched and extracted by
scripts/test-python; nothing of it is kept in this repository. The classes
below follow the pattern of Django's ``CacheSessionTests``: the mixin plus a
``SimpleTestCase`` (the store needs no database), and the cache backend's own
extra tests translated to sessiond. No test of the mixin is skipped or
overridden.
"""

from __future__ import annotations

import os
import string

import pytest
from django.test import SimpleTestCase, override_settings

import sessiond.django
from sessiond import SessiondClient

try:
    from sessions_tests.tests import SessionTestsMixin
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("SESSIOND_REQUIRE_DJANGO_SUITE"):
        raise
    pytest.skip(
        "Django's tests/sessions_tests is not on sys.path; scripts/test-python fetches it",
        allow_module_level=True,
    )


def stored(session_key):
    """The session as sessiond holds it (no TTL refresh), or None."""
    from sessiond import SessionNotFound

    try:
        return sessiond.django.get_client().get(session_key, touch=False)
    except SessionNotFound:
        return None


class SessiondSessionTests(SessionTestsMixin, SimpleTestCase):
    backend = sessiond.django.SessionStore

    # The counterparts of CacheSessionTests' own tests.

    def test_load_overlong_key(self):
        # An id sessiond refuses (over 128 characters) cannot name a stored
        # session: an empty session, like the cache backend's #17810 handling.
        self.session._session_key = (string.ascii_letters + string.digits) * 20
        self.assertEqual(self.session.load(), {})
        self.assertIsNone(self.session.session_key)

    def test_create_and_save(self):
        self.session = self.backend()
        self.session.create()
        self.session.save()
        self.assertIsNotNone(stored(self.session.session_key))

    async def test_create_and_save_async(self):
        self.session = self.backend()
        await self.session.acreate()
        await self.session.asave()
        self.assertIsNotNone(stored(self.session.session_key))

    def test_default_settings_client(self):
        # The engine talks to the daemon named by SESSIOND_URL.
        self.session.save()
        client = sessiond.django.get_client()
        self.assertIsInstance(client, SessiondClient)
        self.assertTrue(client.exists(self.session.session_key, touch=False))


@override_settings(USE_TZ=False)
class SessiondSessionWithoutTimeZoneTests(SessiondSessionTests):
    """The same suite with naive datetimes (Django's *WithTimeZoneTests, inverted:
    USE_TZ is True by default since Django 5.0)."""
