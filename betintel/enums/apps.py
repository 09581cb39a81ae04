from __future__ import annotations

from django.apps import AppConfig


class EnumsConfig(AppConfig):
    """The enum engine: fields, migration operations, autodetection and checks."""

    name = "betintel.enums"
    label = "enums"
    verbose_name = "Enum types"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
