"""Settings of the sessiond example project.

The only session-related lines a real project needs are SESSION_ENGINE and
the SESSIOND_* settings; the rest is a minimal Django project.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "sessiond.django.DeviceMiddleware",  # after SessionMiddleware: records each session's browser and IP
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "exampleproject.urls"
WSGI_APPLICATION = "exampleproject.wsgi.application"

# Users live in the database; sessions live in sessiond.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB", BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- sessions in sessiond -------------------------------------------------
SESSION_ENGINE = "sessiond.django"
SESSIOND_URL = os.environ.get("SESSIOND_URL", "http://127.0.0.1:8080")  # or "unix:///run/sessiond.sock"
SESSIOND_TOKEN = os.environ.get("SESSIOND_TOKEN") or None
SESSIOND_TIMEOUT = 2.0
# Moving from another engine? Name it, and its sessions move into sessiond as
# their users come back (nobody is logged out), e.g.
# "django.contrib.sessions.backends.db" or "django.contrib.sessions.backends.cache".
SESSIOND_MIGRATE_FROM = os.environ.get("SESSIOND_MIGRATE_FROM") or None
# Store each session's {"user_agent", "ip"} as sessiond's device (with the
# DeviceMiddleware above), for the /devices/ page.
SESSIOND_RECORD_DEVICE = True
# ---------------------------------------------------------------------------

LOGIN_URL = "/login/"
USE_TZ = True
TIME_ZONE = "UTC"
