"""Test settings: the project's, plus the tiny app the engine's tests migrate back and forth."""

import os

from betintel.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.enumapp"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Parallel runs (several working copies, or a developer beside CI) each name their own test
# database; the server is shared.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}  # noqa: F405
