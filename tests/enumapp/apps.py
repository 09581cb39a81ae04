from django.apps import AppConfig


class EnumappConfig(AppConfig):
    """A tiny app for the engine's tests; installed by both test settings modules."""

    name = "tests.enumapp"
    label = "enumapp"
