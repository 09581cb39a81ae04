from django.apps import AppConfig


class StatusappConfig(AppConfig):
    """An app with deprecated and flagged members, installed only by the tests that need it.

    It has no migrations: its type is created by the test itself (or deliberately missing).
    """

    name = "tests.statusapp"
    label = "statusapp"
