from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from betintel.enums import EnumField, flagged


class Sport(models.TextChoices):
    SOCCER = "soccer", "Soccer"
    BASKETBALL = "basketball", "Basketball"
    AMERICAN_FOOTBALL = "american_football", "American football"
    BASEBALL = "baseball", "Baseball"
    ICE_HOCKEY = "ice_hockey", "Ice hockey"
    TENNIS = "tennis", "Tennis"


class BetType(models.TextChoices):
    MONEYLINE = "h2h", "Moneyline"
    SPREAD = "spreads", "Spread"
    TOTAL = "totals", "Total"
    PLAYER_POINTS = "player_points", "Player Points"
    PLAYER_ASSISTS = "player_assists", flagged("Player Assists", flag="enable_player_assists")
    PLAYER_REBOUNDS = "player_rebounds", "Player Rebounds"


class BetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    VOID = "void", "Void"


class Bet(models.Model):
    """A wager on one selection at decimal odds."""

    sport = EnumField(Sport, type_name="sport_enum")
    bet_type = EnumField(BetType, type_name="bet_type_enum", db_index=True)
    status = EnumField(BetStatus, type_name="bet_status_enum", default=BetStatus.PENDING)
    selection = models.CharField(max_length=200)
    odds = models.DecimalField(
        max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("1.001"))]
    )
    stake = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    placed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(odds__gt=1), name="bet_odds_above_one"),
            models.CheckConstraint(condition=models.Q(stake__gt=0), name="bet_stake_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.selection} ({self.get_bet_type_display()}) @ {self.odds}"
