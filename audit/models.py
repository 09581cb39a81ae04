from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router
from django.utils import timezone

from betintel.enums import EnumField


class AuditAction(models.TextChoices):
    """What an audit entry records."""

    ENUM_TYPE_CREATED = "ENUM_TYPE_CREATED", "Enum type created"
    ENUM_TYPE_DROPPED = "ENUM_TYPE_DROPPED", "Enum type dropped"
    ENUM_VALUE_ADDED = "ENUM_VALUE_ADDED", "Enum value added"
    ENUM_VALUE_RENAMED = "ENUM_VALUE_RENAMED", "Enum value renamed"
    ENUM_VALUE_DEPRECATED = "ENUM_VALUE_DEPRECATED", "Enum value deprecated"
    ENUM_VALUE_UNDEPRECATED = "ENUM_VALUE_UNDEPRECATED", "Enum value deprecation cleared"
    ENUM_VALUE_REMOVED = "ENUM_VALUE_REMOVED", "Enum value removed"
    INVALID_ENUM_VALUE = "INVALID_ENUM_VALUE", "Invalid enum value refused"
    BET_PLACED = "BET_PLACED", "Bet placed"
    BET_SETTLED = "BET_SETTLED", "Bet settled"


class AppendOnlyError(Exception):
    """An audit entry was to be changed or deleted; the log only grows."""


class AuditLogQuerySet(models.QuerySet):
    """Entries are inserted one link of the hash chain at a time."""

    def bulk_create(self, objs, *args, **kwargs):
        """Insert each entry as its own link, in the given order (no multi-row INSERT)."""
        objs = list(objs)
        for entry in objs:
            entry.save(using=self.db)
        return objs


class AuditLog(models.Model):
    """One lifecycle event. Append-only: the database refuses UPDATE, DELETE and TRUNCATE.

    Each entry is a link of a keyed hash chain (``audit.chain``): ``digest`` covers its fields
    and the previous entry's digest, so ``manage.py audit_verify`` finds entries changed,
    removed, inserted or reordered behind the application's back.
    """

    action = EnumField(AuditAction, type_name="auditactionenum", db_index=True)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    previous_digest = models.CharField(max_length=64, blank=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.message}"

    def save(self, *args, using: str | None = None, **kwargs) -> None:
        """Insert the entry as the next link of the chain; an entry is never saved twice."""
        if not self._state.adding:
            raise AppendOnlyError(
                f"Audit entry {self.pk} is already recorded and the log is append-only; "
                "record a new entry instead of changing this one."
            )
        from . import writer

        writer.append(self, using or router.db_for_write(type(self), instance=self))

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(
            f"Audit entry {self.pk} cannot be deleted: the log is append-only."
        )
