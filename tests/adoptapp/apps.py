from django.apps import AppConfig


class AdoptappConfig(AppConfig):
    """Models for adopting native enums, installed only by the tests that need them.

    It has no migrations of its own: each test gives it a temporary migration module holding
    the state the database is in before the change under test.
    """

    name = "tests.adoptapp"
    label = "adoptapp"
