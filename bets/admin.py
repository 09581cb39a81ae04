from __future__ import annotations

from django.contrib import admin

from betintel.enums.admin import EnumCountsMixin

from .models import Bet


@admin.register(Bet)
class BetAdmin(EnumCountsMixin, admin.ModelAdmin):
    """Bets, with the number of bets per bet type above the list.

    Built for tables of millions of rows: counts above a threshold are planner estimates, and
    there is no date drill-down (it would scan every row to list the years).
    """

    enum_count_fields = ("bet_type",)
    list_display = ["placed_at", "selection", "sport", "bet_type", "status", "odds", "stake"]
    list_filter = ["bet_type", "sport", "status"]
    search_fields = ["selection"]
    ordering = ["-placed_at", "-id"]
