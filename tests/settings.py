"""Test settings: the project's, plus the tiny app the engine's tests migrate back and forth."""

import os

# The project defaults to production, which needs a real key. The suite states its own mode
# (Django's test runner turns DEBUG off anyway); `manage.py` processes the tests start inherit
# both through the environment.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "tests-only-key-" + "k7Qm2vXz9RbT4nLw8YcJ3hFd6GsPa1Ue5Ko0")

from betintel.settings import *  # noqa: E402, F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.enumapp"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Parallel runs (several working copies, or a developer beside CI) each name their own test
# database; the server is shared.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}  # noqa: F405
