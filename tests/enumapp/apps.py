from django.apps import AppConfig


class EnumappConfig(AppConfig):
    """A tiny app for the engine's tests; installed only by ``tests.settings``."""

    name = "tests.enumapp"
    label = "enumapp"
