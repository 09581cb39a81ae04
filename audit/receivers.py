"""Turns the enum engine's announcements into audit entries.

An entry is written in the transaction of the change it records (a migration that rolls back
leaves no entry). Until the log can take it (the audit table or its action value does not
exist yet: the migrations creating ``auditactionenum`` itself, or those that run before it),
it is held in the database by ``writer`` and recorded as soon as the log can take it: before
the next entry, and after every ``migrate``.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, router, transaction
from django.db.models.signals import post_migrate
from django.db.transaction import TransactionManagementError
from django.dispatch import receiver

from betintel.enums.signals import EnumAction, enum_changed, invalid_enum_value

from . import writer
from .models import AuditAction

logger = logging.getLogger("betintel.audit")

#: The audit action of each action the enum engine announces; check ``audit.E001`` reports
#: an ``EnumAction`` missing here before ``migrate`` runs.
ACTIONS: dict[str, AuditAction] = {
    EnumAction.TYPE_CREATED: AuditAction.ENUM_TYPE_CREATED,
    EnumAction.TYPE_DROPPED: AuditAction.ENUM_TYPE_DROPPED,
    EnumAction.VALUE_ADDED: AuditAction.ENUM_VALUE_ADDED,
    EnumAction.VALUE_RENAMED: AuditAction.ENUM_VALUE_RENAMED,
    EnumAction.VALUE_DEPRECATED: AuditAction.ENUM_VALUE_DEPRECATED,
    EnumAction.VALUE_UNDEPRECATED: AuditAction.ENUM_VALUE_UNDEPRECATED,
    EnumAction.VALUE_REMOVED: AuditAction.ENUM_VALUE_REMOVED,
}


@receiver(enum_changed, dispatch_uid="audit.enum_changed")
def record_enum_change(sender, action, type_name, value, details, using, **kwargs) -> None:
    """Write one audit entry for an enum operation, in the operation's transaction.

    An action with no audit action (a newer engine than this mapping; ``audit.E001`` reports
    it) is logged, never raised: the migration that announced it must not fail for it.
    """
    subject = f"{type_name}.{value}" if value is not None else type_name
    audit_action = ACTIONS.get(action)
    if audit_action is None:
        logger.error(
            "The enum engine announced %r (%s, %s), which the audit log has no action for, so "
            "it was not recorded. Add it to audit.receivers.ACTIONS and AuditAction.",
            str(action), subject, details.get("migration"),
        )
        return
    message = f"{action.replace('_', ' ').capitalize()}: {subject} ({details['direction']})"
    writer.record(using, audit_action, message, details)


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


@receiver(post_migrate, dispatch_uid="audit.release_after_migrate")
def release_after_migrate(sender, using, **kwargs) -> None:
    """Move entries held during ``migrate`` into the log, now that it may take them."""
    if sender.name != "audit":
        return
    if not writer.release_held(using):
        logger.info(
            "Some audit entries wait in %s until the audit log's migrations (or their action "
            "values) are applied; the next migrate records them.", writer.PENDING_TABLE,
        )
