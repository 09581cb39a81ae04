"""System checks of the audit app.

- ``audit.E001`` an action the enum engine announces (``EnumAction``) has no audit action, so
  its entries would not be recorded.
- ``audit.E002`` neither ``AUDIT_HMAC_KEY`` nor ``SECRET_KEY`` is set, so the entries a
  ``migrate`` writes could not be signed. A database check: ``migrate`` runs it before applying
  anything, while ``check`` and ``makemigrations`` (which write no entry) do not.
"""

from __future__ import annotations

from django.core import checks

from betintel.enums.signals import EnumAction

from .conf import has_hmac_key


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


def check_hmac_key(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """audit.E002: the audit log can sign the entries that migrate writes."""
    if not databases or has_hmac_key():
        return []
    return [
        checks.Error(
            "The audit log signs every entry (a chained HMAC), with AUDIT_HMAC_KEY or a key "
            "derived from SECRET_KEY, and neither is set: the entries migrate writes could not "
            "be signed.",
            hint="Set SECRET_KEY (and AUDIT_HMAC_KEY, so SECRET_KEY can be rotated) in the "
            "environment; for development, DEBUG=1 uses the built-in development key.",
            obj="AUDIT_HMAC_KEY",
            id="audit.E002",
        )
    ]
