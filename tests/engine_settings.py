"""Settings for the enum engine's own tests: Django's contrib apps, the engine, a tiny app.

No `audit/`, no `bets/` and nothing of the site's set-up but its choice of database server (the
embedded one by default, ``DATABASE_URL`` when set): the engine must work in any project that
adds ``"betintel.enums"`` to ``INSTALLED_APPS``. Run with
``python -m pytest -m "not site" --ds=tests.engine_settings``; the other tiny apps
(``tests.statusapp``, ``tests.adoptapp``) are installed by the tests that need them.
"""

from __future__ import annotations

import os

from betintel.settings import DATABASES  # noqa: F401  (embedded server, or DATABASE_URL)

DEBUG = False
SECRET_KEY = "engine-tests-only-key-" + "Zp4Lx8Qw2Rv6Tn0Ym3Kc7Hb1Jd5Fs9Ga"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "betintel.enums",
    "tests.enumapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.engine_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# As ``tests.settings``: parallel runs on a shared server each name their own test database.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}
