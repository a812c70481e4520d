"""Django settings for the client's tests and for Django's own session tests.

Modelled on Django's tests/runtests.py: the apps its session tests import
(``sessions_tests`` is extracted from Django's sdist by scripts/test-python
and put on sys.path), an in-memory SQLite database, and sessiond as the
session engine. The daemon's address comes from the environment.
"""

import importlib.util
import os

SECRET_KEY = "sessiond-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
]
if importlib.util.find_spec("sessions_tests") is not None:
    INSTALLED_APPS.append("sessions_tests")

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "sessiond_test_urls"

SESSION_ENGINE = "sessiond.django"
SESSIOND_URL = os.environ.get("SESSIOND_TEST_URL", "http://127.0.0.1:8080")
SESSIOND_TOKEN = None  # SESSIOND_TEST_URL is the harness's daemon without a token
SESSIOND_TIMEOUT = 5.0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
