from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
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


class AuditLog(models.Model):
    """One lifecycle event. Append-only: the database refuses UPDATE and DELETE."""

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

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.message}"
