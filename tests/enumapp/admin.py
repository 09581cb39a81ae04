"""The tiny app's admin: paints per finish above the change list, as a project would show it."""

from django.contrib import admin

from betintel.enums.admin import EnumCountsMixin

from .models import Paint


@admin.register(Paint)
class PaintAdmin(EnumCountsMixin, admin.ModelAdmin):
    enum_count_fields = ("finish",)
    list_display = ["name", "finish"]
    list_filter = ["finish"]
