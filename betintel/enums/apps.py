from __future__ import annotations

from django.apps import AppConfig


class EnumsConfig(AppConfig):
    """The enum engine: fields, migration operations, autodetection and checks."""

    name = "betintel.enums"
    label = "enums"
    verbose_name = "Enum types"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the system checks)
        from .adapters import register_enum_arrays

        connection_created.connect(register_enum_arrays, dispatch_uid="betintel_enum_arrays")
