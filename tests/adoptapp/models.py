from django.contrib.postgres.fields import ArrayField
from django.db import models

from betintel.enums import EnumField


class Market(models.TextChoices):
    MONEYLINE = "h2h", "Moneyline"
    SPREAD = "spreads", "Spread"
    TOTAL = "totals", "Total"


class Region(models.TextChoices):
    EU = "eu", "Europe"
    US = "us", "United States"


class Listing(models.Model):
    """``market`` and ``tags`` adopted a native enum; ``region`` went back to a character column."""

    market = EnumField(Market, type_name="adoptapp_market_enum", db_index=True)
    tags = ArrayField(EnumField(Market, type_name="adoptapp_market_enum"), default=list)
    region = models.CharField(max_length=10, choices=Region.choices, db_index=True)


class LedgerStatus(models.TextChoices):
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"
    VOID = "void", "Void"


class Ledger(models.Model):
    """A table made elsewhere (another tool's migrations): Django never changes it."""

    status = EnumField(LedgerStatus, type_name="adoptapp_ledger_status_enum")

    class Meta:
        managed = False
        db_table = "adoptapp_ledger"
