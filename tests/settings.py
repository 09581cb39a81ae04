"""Test settings: the project's, plus the tiny app the engine's tests migrate back and forth."""

from betintel.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.enumapp"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
