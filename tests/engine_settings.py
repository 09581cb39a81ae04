"""Settings for the enum engine's own tests: Django's contrib apps, the engine, a tiny app.

No `audit/`, no `bets/` and nothing of the site's set-up but its choice of database server (the
embedded one by default, ``DATABASE_URL`` when set) and the Django parts every project has (the
contrib apps, the middleware, the template engine), taken from the site's settings so the two
runs cannot drift apart: the engine must work in any project that adds ``"betintel.enums"`` to
``INSTALLED_APPS``. Run with
``python -m pytest -m "not site" --ds=tests.engine_settings``; the other tiny apps
(``tests.statusapp``, ``tests.adoptapp``) are installed by the tests that need them.
"""

from __future__ import annotations

import os

# The site's choice of database server (embedded, or DATABASE_URL) and its middleware.
from betintel.settings import DATABASES, MIDDLEWARE  # noqa: F401
from betintel.settings import INSTALLED_APPS as _site_apps
from betintel.settings import TEMPLATES as _site_templates

DEBUG = False
SECRET_KEY = "engine-tests-only-key-" + "Zp4Lx8Qw2Rv6Tn0Ym3Kc7Hb1Jd5Fs9Ga"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

# The site's apps without its own domain (audit/, bets/): Django's contrib apps and the
# engine, as betintel installs them, and the engine's tiny test app.
INSTALLED_APPS = [
    *(app for app in _site_apps if app.partition(".")[0] not in ("audit", "bets")),
    "tests.enumapp",
]

ROOT_URLCONF = "tests.engine_urls"

# The site's template engine without the site's own template folder.
TEMPLATES = [{key: value for key, value in engine.items() if key != "DIRS"}
             for engine in _site_templates]

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# As ``tests.settings``: parallel runs on a shared server each name their own test database.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}
