from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class AuditConfig(AppConfig):
    """The append-only record of lifecycle events."""

    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the enum engine's signals)
        from .checks import check_enum_actions, check_hmac_key

        checks.register(check_enum_actions)
        checks.register(check_hmac_key, checks.Tags.database)
