"""System checks of the audit app.

- ``audit.E001`` an action the enum engine announces (``EnumAction``) has no audit action, so
  its entries would not be recorded.
"""

from __future__ import annotations

from django.core import checks

from betintel.enums.signals import EnumAction


def check_enum_actions(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """audit.E001: every action of the enum engine maps to an audit action."""
    from .receivers import ACTIONS

    missing = [action.value for action in EnumAction if action not in ACTIONS]
    if not missing:
        return []
    return [
        checks.Error(
            f"The enum engine announces {', '.join(missing)}, which the audit log has no "
            "action for: those changes would go unrecorded.",
            hint="Add an AuditAction member (with its AddEnumValue migration) and map it in "
            "audit.receivers.ACTIONS.",
            obj="audit.receivers.ACTIONS",
            id="audit.E001",
        )
    ]
