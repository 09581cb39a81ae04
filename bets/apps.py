from __future__ import annotations

from django.apps import AppConfig


class BetsConfig(AppConfig):
    """The betting domain."""

    name = "bets"
    verbose_name = "Bets"
