"""Settings for betintel, read from the environment (12-factor)."""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    FEATURE_FLAGS=(list, []),
)

# Production is the default: development mode is asked for with DEBUG=1.
DEBUG = env("DEBUG")
# Known to everyone, so only development mode uses it. Its prefix makes `check --deploy` flag it
# (security.W009) wherever it turns up; servers refuse to start with it (betintel.startup).
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-set-SECRET_KEY-in-production"
# Empty in production without a key: servers refuse to start, and nothing can sign with it.
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

# Flags named here switch on `flagged(...)` enum members for new writes.
FEATURE_FLAGS = [flag.strip() for flag in env("FEATURE_FLAGS") if flag.strip()]
# The enum engine's settings, from the environment when set there, as raw strings: the engine
# has their defaults and parses them (betintel.enums.conf; the README lists them).
ENUM_SETTINGS = (
    "ENUM_LOCK_TIMEOUT",
    "ENUM_LOCK_RETRIES",
    "ENUM_SWAP",
    "ENUM_ONLINE_MIN_ROWS",
    "ENUM_BACKFILL_BATCH",
    "ENUM_EXACT_COUNT_LIMIT",
    "ENUM_FEATURE_FLAGS_SOURCE",
)
globals().update({name: os.environ[name] for name in ENUM_SETTINGS if name in os.environ})
# Key of the audit log's hash chain; never stored in the database. Empty: derived from
# SECRET_KEY (set a key of its own in production, so SECRET_KEY can be rotated).
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "betintel.enums",
    "audit.apps.AuditConfig",
    "bets.apps.BetsConfig",
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

ROOT_URLCONF = "betintel.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

WSGI_APPLICATION = "betintel.wsgi.application"

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    # No server given: an embedded PostgreSQL starts on first use, data in .pgdata/.
    DATABASES = {
        "default": {
            "ENGINE": "betintel.embedded_db",
            "NAME": "betintel",
            "USER": "postgres",
            "OPTIONS": {"pgdata": str(BASE_DIR / ".pgdata")},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "formatters": {
        "errors": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # Server errors (500s, refused hosts) to stderr with their traceback. Django's own
        # console handler shows them only with DEBUG on; this one takes over when it is off.
        "errors": {
            "class": "logging.StreamHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "formatter": "errors",
        },
    },
    "loggers": {
        "betintel": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["errors"]},
        "django.security": {"handlers": ["errors"]},
    },
}
