"""Turns the enum engine's announcements into audit entries.

Entries are written after the migration's transaction commits: a value just added to
``auditactionenum`` cannot be used inside the transaction that added it, and a migration
that rolls back must leave no entry. Events from before the audit table exists (creating
``auditactionenum`` itself) wait in memory and are written as soon as it does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError, connections, router, transaction
from django.db.models.signals import post_migrate
from django.db.transaction import TransactionManagementError
from django.dispatch import receiver

from betintel.enums import introspection
from betintel.enums.signals import enum_changed, invalid_enum_value

logger = logging.getLogger("betintel.audit")

ACTIONS = {
    "type_created": "ENUM_TYPE_CREATED",
    "type_dropped": "ENUM_TYPE_DROPPED",
    "value_added": "ENUM_VALUE_ADDED",
    "value_renamed": "ENUM_VALUE_RENAMED",
    "value_deprecated": "ENUM_VALUE_DEPRECATED",
    "value_undeprecated": "ENUM_VALUE_UNDEPRECATED",
    "value_removed": "ENUM_VALUE_REMOVED",
}


@dataclass
class PendingEntry:
    using: str
    action: str
    message: str
    details: dict


#: Entries whose change has committed but which the database cannot take yet.
_pending: list[PendingEntry] = []


@receiver(enum_changed, dispatch_uid="audit.enum_changed")
def record_enum_change(sender, action, type_name, value, details, using, **kwargs) -> None:
    """Write one audit entry for an enum operation once its transaction commits."""
    subject = f"{type_name}.{value}" if value is not None else type_name
    message = f"{action.replace('_', ' ').capitalize()}: {subject} ({details['direction']})"
    entry = PendingEntry(using, ACTIONS[action], message, details)
    # Only a committed change is queued: a rolled-back migration leaves no entry behind.
    transaction.on_commit(lambda: _committed(entry), using=using)


def _committed(entry: PendingEntry) -> None:
    _pending.append(entry)
    flush_pending(entry.using)


@receiver(invalid_enum_value, dispatch_uid="audit.invalid_enum_value")
def record_invalid_value(sender, model, field, value, reason, type_name, **kwargs) -> None:
    """Record a refused write of an unknown, deprecated or flag-off value.

    Written at once, in a savepoint: the refusal is what is being recorded, and failing to
    record it must never hide the validation error from the user.
    """
    from .models import AuditAction, AuditLog

    using = router.db_for_write(AuditLog)
    try:
        with transaction.atomic(using=using):
            AuditLog.objects.using(using).create(
                action=AuditAction.INVALID_ENUM_VALUE,
                message=f"Invalid {field} '{value}' refused on {model} ({reason})",
                details={
                    "model": model,
                    "field": field,
                    "value": value,
                    "reason": reason,
                    "type": type_name,
                },
            )
    except (DatabaseError, TransactionManagementError):
        logger.exception("Could not record the refused %s %r of %s", field, value, model)


@receiver(post_migrate, dispatch_uid="audit.flush_after_migrate")
def flush_after_migrate(sender, using, **kwargs) -> None:
    flush_pending(using)


def flush_pending(using: str) -> None:
    """Write the queued entries of ``using`` that the database can now take."""
    connection = connections[using]
    if connection.in_atomic_block:
        return  # on_commit of an outer block will call again
    waiting = [entry for entry in _pending if entry.using == using]
    if not waiting or not _ready(connection, {entry.action for entry in waiting}):
        return
    from .models import AuditLog

    for entry in waiting:
        AuditLog.objects.using(using).create(
            action=entry.action, message=entry.message, details=entry.details
        )
        _pending.remove(entry)


def _ready(connection, actions: set[str]) -> bool:
    """Whether the audit table exists and its action type already has ``actions``."""
    from .models import AuditLog

    if AuditLog._meta.db_table not in connection.introspection.table_names():
        return False
    action_type = introspection.enum_type(
        connection, AuditLog._meta.get_field("action").enum_type_name
    )
    missing = actions - set(action_type.values if action_type else ())
    if missing:
        logger.debug("audit entries wait for actions %s", sorted(missing))
    return not missing
