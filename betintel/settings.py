"""Settings for betintel, read from the environment (12-factor)."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    FEATURE_FLAGS=(list, []),
    ENUM_LOCK_TIMEOUT=(str, "2s"),
    ENUM_LOCK_RETRIES=(int, 5),
    ENUM_EXACT_COUNT_LIMIT=(int, 1_000_000),
    ENUM_SWAP=(str, "auto"),
    ENUM_ONLINE_MIN_ROWS=(int, 100_000),
    ENUM_BACKFILL_BATCH=(int, 10_000),
)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-set-SECRET_KEY-in-production")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

# Flags named here switch on `flagged(...)` enum members for new writes.
FEATURE_FLAGS = [flag.strip() for flag in env("FEATURE_FLAGS") if flag.strip()]
# Budget for each statement of an enum migration that needs a table lock.
ENUM_LOCK_TIMEOUT = env("ENUM_LOCK_TIMEOUT")
ENUM_LOCK_RETRIES = env("ENUM_LOCK_RETRIES")
# Above this many rows per table, enum_status and the admin show planner estimates, not counts.
ENUM_EXACT_COUNT_LIMIT = env("ENUM_EXACT_COUNT_LIMIT")
# Type swaps: online beside live traffic for big tables in non-atomic migrations (SPEC §4a).
ENUM_SWAP = env("ENUM_SWAP")
ENUM_ONLINE_MIN_ROWS = env("ENUM_ONLINE_MIN_ROWS")
ENUM_BACKFILL_BATCH = env("ENUM_BACKFILL_BATCH")

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
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"betintel": {"handlers": ["console"], "level": "INFO"}},
}
