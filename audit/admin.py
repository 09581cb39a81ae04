from __future__ import annotations

from django.contrib import admin

from .models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, so nobody adds, changes or deletes entries here."""

    list_display = ["created_at", "action", "message", "actor"]
    list_filter = ["action"]
    search_fields = ["message"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "action", "message", "details", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
