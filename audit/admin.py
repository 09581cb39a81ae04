from __future__ import annotations

import json

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html

from betintel.enums.admin import EnumAdminMixin, EstimatedCountPaginator

from .models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(EnumAdminMixin, admin.ModelAdmin):
    """The audit log, read-only for everyone: it is append-only, superusers included.

    Every active staff user may look at it; nobody adds, changes or deletes entries here (the
    database refuses UPDATE, DELETE and TRUNCATE as well). The detail page shows the start of
    the entry's digest in the hash chain that ``manage.py audit_verify`` checks.
    """

    list_display = ["created_at", "action", "message", "actor"]
    list_filter = ["action"]
    search_fields = ["message"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    fields = ["created_at", "action_shown", "message", "actor", "pretty_details", "short_digest"]
    readonly_fields = fields
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description="action")
    def action_shown(self, entry: AuditLog) -> str:
        """The action's label; one a newer release added is shown as it is, marked unknown."""
        return AuditLog._meta.get_field("action").display(entry.action)

    @admin.display(description="details")
    def pretty_details(self, entry: AuditLog) -> str:
        """The JSON details, indented for reading."""
        text = json.dumps(
            entry.details, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder
        )
        return format_html('<pre class="audit-details">{}</pre>', text)

    @admin.display(description="digest")
    def short_digest(self, entry: AuditLog) -> str:
        """The start of the entry's chained digest; hovering shows all of it."""
        return format_html('<span title="{}">{}…</span>', entry.digest, entry.digest[:16])

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
