"""``seed_demo``: realistic demo bets through COPY, safe to run twice, with a demo admin."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from audit.models import AuditAction, AuditLog
from betintel.enums import deprecated, flagged
from bets.models import Bet, BetStatus, BetType, Sport
from bets.seeding import DemoBets, SeedPlan, seedable_values
from tests.helpers import run_command

pytestmark = pytest.mark.django_db

WRITABLE_BET_TYPES = [value for value in BetType.values if value != BetType.PLAYER_ASSISTS]


class LegacyBetType(models.TextChoices):
    """A bet type enum as it looks while one member is phased out and one waits for its flag."""

    MONEYLINE = "h2h", "Moneyline"
    DOUBLE_CHANCE = "double_chance", deprecated("Double chance", replacement="h2h")
    PLAYER_ASSISTS = "player_assists", flagged("Player Assists", flag="enable_player_assists")


class LegacyStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    VOID = "void", deprecated("Void", replacement="lost")


class RetiredSport(models.TextChoices):
    CRICKET = "cricket", deprecated("Cricket")


def seed(*args: str) -> tuple[str, str, int]:
    return run_command("seed_demo", *args)


def seeding_entries():
    return AuditLog.objects.filter(action=AuditAction.BET_PLACED, details__source="seed_demo")


def test_seed_demo__n_bets__writes_exactly_n_covering_every_writable_value():
    out, err, code = seed("--bets", "3000", "--seed", "1")

    assert code == 0, err
    assert Bet.objects.count() == 3000
    assert set(Bet.objects.values_list("sport", flat=True)) == set(Sport.values)
    assert set(Bet.objects.values_list("status", flat=True)) == set(BetStatus.values)
    assert set(Bet.objects.values_list("bet_type", flat=True)) == set(WRITABLE_BET_TYPES)


def test_seed_demo__as_few_bets_as_values__still_covers_every_value():
    count = len(Sport.values) + len(WRITABLE_BET_TYPES)

    _, err, code = seed("--bets", str(count), "--no-admin")

    assert code == 0, err
    assert Bet.objects.count() == count
    assert set(Bet.objects.values_list("sport", flat=True)) == set(Sport.values)
    assert set(Bet.objects.values_list("status", flat=True)) == set(BetStatus.values)
    assert set(Bet.objects.values_list("bet_type", flat=True)) == set(WRITABLE_BET_TYPES)


def test_seed_demo__odds_and_stakes__within_constraints_and_plausible_per_market():
    seed("--bets", "3000", "--seed", "2", "--no-admin")

    bounds = Bet.objects.aggregate(
        min_odds=Min("odds"), max_odds=Max("odds"), min_stake=Min("stake")
    )
    assert bounds["min_odds"] > 1
    assert bounds["max_odds"] <= Decimal("12")
    assert bounds["min_stake"] > 0
    # Handicap and total markets are priced near evens; match odds range from favourites to
    # outsiders.
    lines = Bet.objects.filter(bet_type__in=[BetType.SPREAD, BetType.TOTAL])
    assert lines.aggregate(low=Min("odds"))["low"] >= Decimal("1.70")
    assert lines.aggregate(high=Max("odds"))["high"] <= Decimal("2.20")
    moneyline = Bet.objects.filter(bet_type=BetType.MONEYLINE).aggregate(
        low=Min("odds"), high=Max("odds")
    )
    assert moneyline["low"] < Decimal("1.3")
    assert moneyline["high"] > Decimal("6")
    assert not Bet.objects.filter(Q(selection="") | Q(selection__isnull=True)).exists()


def test_seed_demo__selections__name_teams_and_players_of_their_sport():
    seed("--bets", "3000", "--seed", "3", "--no-admin")

    rebounds = Bet.objects.filter(bet_type=BetType.PLAYER_REBOUNDS)
    assert rebounds.exists()
    assert set(rebounds.values_list("sport", flat=True)) == {Sport.BASKETBALL}
    assert all(" over " in s and s.endswith("rebounds") for s in rebounds.values_list(
        "selection", flat=True
    ))
    tennis = Bet.objects.filter(sport=Sport.TENNIS, bet_type=BetType.MONEYLINE)
    assert tennis.filter(selection__contains="to beat").count() == tennis.count() > 0


def test_seed_demo__statuses__recent_bets_open_and_old_ones_settled():
    seed("--bets", "3000", "--seed", "4", "--no-admin")
    now = timezone.now()

    assert not Bet.objects.filter(placed_at__gt=now).exists()
    assert not Bet.objects.filter(placed_at__lt=now - timedelta(days=181)).exists()
    old = Bet.objects.filter(placed_at__lt=now - timedelta(days=14)).aggregate(
        total=Count("id"), pending=Count("id", filter=Q(status=BetStatus.PENDING))
    )
    recent = Bet.objects.filter(placed_at__gt=now - timedelta(days=2)).aggregate(
        total=Count("id"), pending=Count("id", filter=Q(status=BetStatus.PENDING))
    )
    assert old["total"] > 1000 and old["pending"] < old["total"] * 0.05
    assert recent["total"] > 50 and recent["pending"] > recent["total"] * 0.5


def test_seed_demo__flag_off__flagged_type_not_written_and_named_in_output(settings):
    settings.FEATURE_FLAGS = []

    out, _, code = seed("--bets", "2000", "--no-admin")

    assert code == 0
    assert not Bet.objects.filter(bet_type=BetType.PLAYER_ASSISTS).exists()
    assert "player_assists (feature flag enable_player_assists is off" in out


def test_seed_demo__flag_on__flagged_type_written(settings):
    settings.FEATURE_FLAGS = ["enable_player_assists"]

    out, _, code = seed("--bets", "3000", "--seed", "5", "--no-admin")

    assert code == 0
    assert set(Bet.objects.values_list("bet_type", flat=True)) == set(BetType.values)
    assert "player_assists" in out.splitlines()[1]
    assert "is off" not in out


def test_seedable_values__deprecated_and_flag_off_members__left_out_with_reasons(settings):
    settings.FEATURE_FLAGS = []

    usable, skipped = seedable_values(LegacyBetType)

    assert usable == ["h2h"]
    assert skipped == {
        "double_chance": "deprecated, replaced by h2h",
        "player_assists": (
            "feature flag enable_player_assists is off; add it to FEATURE_FLAGS to include it"
        ),
    }


def test_demo_rows__deprecated_members_in_plan__never_generated(settings):
    settings.FEATURE_FLAGS = []
    plan = SeedPlan.current(bet_types=LegacyBetType, statuses=LegacyStatus)

    rows = list(DemoBets(plan, random.Random(6), timezone.now()).rows(5000))

    assert {row[1] for row in rows} == {"h2h"}
    # Void is deprecated towards lost: settled bets are won or lost, never void.
    assert {row[2] for row in rows} == {"pending", "won", "lost"}


def test_seed_plan__every_member_deprecated__reported_missing():
    plan = SeedPlan.current(sports=RetiredSport)

    assert plan.missing() == ["sport"]


def test_demo_rows__same_seed__same_rows():
    plan = SeedPlan.current()
    now = timezone.now()

    first = list(DemoBets(plan, random.Random(7), now).rows(500))
    second = list(DemoBets(plan, random.Random(7), now).rows(500))

    assert first == second


def test_seed_demo__second_run_same_n__adds_nothing():
    seed("--bets", "2000")
    ids = set(Bet.objects.values_list("id", flat=True))

    out, err, code = seed("--bets", "2000")

    assert code == 0, err
    assert set(Bet.objects.values_list("id", flat=True)) == ids
    assert "nothing to add" in out
    assert seeding_entries().count() == 1


def test_seed_demo__second_run_larger_n__tops_up_to_n():
    seed("--bets", "2000", "--no-admin")

    _, _, code = seed("--bets", "2500", "--no-admin")

    assert code == 0
    assert Bet.objects.count() == 2500
    assert [entry.details["count"] for entry in seeding_entries().order_by("id")] == [2000, 500]


def test_seed_demo__smaller_n_than_present__deletes_nothing():
    seed("--bets", "1500", "--no-admin")

    out, _, code = seed("--bets", "1000", "--no-admin")

    assert code == 0
    assert Bet.objects.count() == 1500
    assert "already holds 1500 bets" in out


def test_seed_demo__one_summary_audit_entry_not_one_per_bet():
    seed("--bets", "1500", "--seed", "8", "--no-admin")

    entry = seeding_entries().get()
    assert entry.message == "Seeded 1500 demo bets"
    assert entry.details["count"] == 1500
    assert entry.details["sports"] == Sport.values
    assert entry.details["bet_types"] == WRITABLE_BET_TYPES
    assert entry.details["statuses"] == BetStatus.values


def test_seed_demo__admin_missing__created_once_as_superuser_with_password_admin():
    first, _, _ = seed("--bets", "10")
    second, _, _ = seed("--bets", "10")

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("admin")
    assert "Created demo superuser 'admin'" in first
    assert "already exists; its password was left unchanged" in second
    assert get_user_model().objects.filter(username="admin").count() == 1


def test_seed_demo__admin_exists__password_and_rights_left_alone():
    get_user_model().objects.create_user("admin", password="s3cret-kept")

    out, _, code = seed("--bets", "10")

    admin = get_user_model().objects.get(username="admin")
    assert code == 0
    assert admin.check_password("s3cret-kept")
    assert not admin.is_superuser
    assert "its password was left unchanged" in out


def test_seed_demo__no_admin__creates_no_user():
    _, _, code = seed("--bets", "10", "--no-admin")

    assert code == 0
    assert not get_user_model().objects.filter(username="admin").exists()


def test_seed_demo__negative_n__refused_with_nonzero_exit_and_nothing_written():
    out, err, code = seed("--bets", "-5")

    assert code != 0
    assert "--bets must be zero or a positive number of bets, not -5" in err
    assert "pass e.g. --bets 20000" in err
    assert Bet.objects.count() == 0
    assert not get_user_model().objects.filter(username="admin").exists()


def test_seed_demo__default_verbosity__progress_bar_on_stderr_and_summary_on_stdout():
    out, err, code = seed("--bets", "1000", "--no-admin")

    assert code == 0
    assert "Seeding bets" in err and "100%" in err and "1.00k/1.00k" in err
    assert "Seeded 1000 demo bets" in out
    assert out.startswith("Sports: soccer, basketball")


def test_seed_demo__verbosity_zero__silent():
    out, err, code = seed("--bets", "1000", "--verbosity", "0")

    assert code == 0
    assert (out, err) == ("", "")
    assert Bet.objects.count() == 1000


def test_seed_demo__after_run__planner_statistics_match_the_table():
    seed("--bets", "2500", "--no-admin")

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'bets_bet'::regclass")
        assert cursor.fetchone()[0] == 2500


class BetTypeAfterRemoval(models.TextChoices):
    """``BetType`` once player_rebounds went through the protocol and left the class."""

    MONEYLINE = "h2h", "Moneyline"
    SPREAD = "spreads", "Spread"
    TOTAL = "totals", "Total"
    PLAYER_POINTS = "player_points", "Player Points"
    PLAYER_ASSISTS = "player_assists", flagged("Player Assists", flag="enable_player_assists")


@pytest.fixture
def bet_type_after_removal(monkeypatch):
    """The project as it is once ``BetType.PLAYER_REBOUNDS`` is deleted from the code.

    Only the Python class changes (the database keeps its type). The seeding code is imported
    afresh, as a new release would import it, and the originals come back afterwards.
    """
    import sys

    import bets
    import bets.models

    monkeypatch.setattr(bets.models, "BetType", BetTypeAfterRemoval)
    monkeypatch.setattr(Bet._meta.get_field("bet_type"), "choices_class", BetTypeAfterRemoval)
    monkeypatch.delattr(bets, "seeding")
    for module in ("bets.seeding", "bets.management.commands.seed_demo"):
        monkeypatch.delitem(sys.modules, module)
    yield BetTypeAfterRemoval


def test_seed_demo__member_deleted_from_its_class__seeds_only_the_values_present(
    bet_type_after_removal, settings
):
    settings.FEATURE_FLAGS = ["enable_player_assists"]

    out, err, code = seed("--bets", "3000", "--seed", "9", "--no-admin")

    assert code == 0, err
    assert Bet.objects.count() == 3000
    assert set(Bet.objects.values_list("bet_type", flat=True)) == set(
        bet_type_after_removal.values
    )
    assert "player_rebounds" not in out


class SportWithNewcomer(models.TextChoices):
    SOCCER = "soccer", "Soccer"
    CRICKET = "cricket", "Cricket"


class BetTypeWithNewcomer(models.TextChoices):
    MONEYLINE = "h2h", "Moneyline"
    CORNERS = "corners", "Corners"


class StatusWithoutVoid(models.TextChoices):
    PENDING = "pending", "Pending"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    CASHED_OUT = "cashed_out", "Cashed out"


def test_demo_rows__values_no_catalogue_knows__generic_rows_at_the_default_weight():
    plan = SeedPlan.current(
        sports=SportWithNewcomer, bet_types=BetTypeWithNewcomer, statuses=StatusWithoutVoid
    )

    rows = list(DemoBets(plan, random.Random(10), timezone.now()).rows(20_000))

    assert {row[0] for row in rows} == {"soccer", "cricket"}
    assert {row[1] for row in rows} == {"h2h", "corners"}
    assert {row[2] for row in rows} == {"pending", "won", "lost", "cashed_out"}
    corners = [row[3] for row in rows if row[1] == "corners"]
    assert all("Corners" in selection for selection in corners)
    # Match odds outweigh a market the catalogues do not know, as the weights say (45 to 5).
    assert len(corners) < sum(1 for row in rows if row[1] == "h2h") / 4
