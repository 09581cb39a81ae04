"""The migration history replays the playbook; fields deconstruct to plain data (SPEC §3, §9).

``bets`` 0001 creates ``bet_type_enum`` with the four original bet types, then 0002 and 0003
each add one player prop with ``AddEnumValue``, appended at the end. The operations are read
from the migration files, and the catalog is read after migrating to each step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.migrations import CreateModel
from django.db.migrations.loader import MigrationLoader

from audit.models import AuditAction
from betintel.enums.operations import AddEnumValue, CreateEnumType
from bets.models import Bet, BetStatus, BetType, Sport
from tests.helpers import enum_labels, run_sql

ROOT = Path(__file__).resolve().parent.parent

ORIGINAL_BET_TYPES = ["h2h", "spreads", "totals", "player_points"]
#: bets' migrations in order, with the labels bet_type_enum holds once each is applied.
HISTORY = [
    ("0001_initial", ORIGINAL_BET_TYPES),
    ("0002_add_player_assists", [*ORIGINAL_BET_TYPES, "player_assists"]),
    ("0003_add_player_rebounds", [*ORIGINAL_BET_TYPES, "player_assists", "player_rebounds"]),
]


def bets_migrations() -> dict:
    """bets' migrations as read from their files, by name."""
    loader = MigrationLoader(None, ignore_no_migrations=True, load=False)
    loader.load_disk()
    return {name: migration for (app, name), migration in loader.disk_migrations.items()
            if app == "bets"}


def test_bets_0001__creates_bet_type_enum_with_the_four_original_types_before_the_table():
    operations = bets_migrations()["0001_initial"].operations

    (create,) = [op for op in operations
                 if isinstance(op, CreateEnumType) and op.name == "bet_type_enum"]
    (model,) = [op for op in operations if isinstance(op, CreateModel) and op.name == "Bet"]
    assert create.values == ORIGINAL_BET_TYPES
    assert operations.index(create) < operations.index(model)
    bet_type = dict(model.fields)["bet_type"]
    assert (bet_type.enum_type_name, bet_type.enum_values) == (
        "bet_type_enum", ORIGINAL_BET_TYPES
    )


@pytest.mark.parametrize(
    ("name", "previous", "value"),
    [("0002_add_player_assists", "0001_initial", "player_assists"),
     ("0003_add_player_rebounds", "0002_add_player_assists", "player_rebounds")],
)
def test_bets_later_migrations__each_appends_one_player_prop_with_add_enum_value(
    name, previous, value
):
    migration = bets_migrations()[name]

    (operation,) = migration.operations
    assert isinstance(operation, AddEnumValue)
    assert (operation.name, operation.value, operation.before, operation.after) == (
        "bet_type_enum", value, None, None
    )
    assert migration.dependencies == [("bets", previous)]


def test_bets_history__no_other_migration_changes_bet_type_enum():
    touching = sorted(
        name for name, migration in bets_migrations().items()
        for op in migration.operations if getattr(op, "name", None) == "bet_type_enum"
    )
    assert touching == [name for name, _labels in HISTORY]


def _bet_type_column() -> str | None:
    rows = run_sql(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass('bets_bet') AND a.attname = 'bet_type' "
        "AND NOT a.attisdropped"
    )
    return rows[0][0] if rows else None


@pytest.mark.django_db(transaction=True)
def test_bet_type_enum__migrated_step_by_step__catalog_follows_the_history():
    leaf = HISTORY[-1][0]
    seen = []
    try:
        call_command("migrate", "bets", "zero", verbosity=0)
        seen.append(("zero", enum_labels("bet_type_enum"), _bet_type_column()))
        for name, _labels in HISTORY:
            call_command("migrate", "bets", name, verbosity=0)
            seen.append((name, enum_labels("bet_type_enum"), _bet_type_column()))
    finally:
        call_command("migrate", "bets", leaf, verbosity=0)

    assert seen == [
        ("zero", [], None),
        *((name, labels, "bet_type_enum") for name, labels in HISTORY),
    ]


@pytest.mark.django_db
def test_types__named_as_the_spec_says__hold_the_values_the_code_declares():
    assert enum_labels("bet_type_enum") == BetType.values == HISTORY[-1][1]
    assert enum_labels("sport_enum") == Sport.values
    assert enum_labels("bet_status_enum") == BetStatus.values
    assert {field.enum_type_name for field in Bet._meta.fields if hasattr(
        field, "enum_type_name"
    )} == {"bet_type_enum", "sport_enum", "bet_status_enum"}
    actions = enum_labels("auditactionenum")
    assert actions == AuditAction.values
    assert set(actions) >= {
        "ENUM_TYPE_CREATED", "ENUM_VALUE_ADDED", "ENUM_VALUE_RENAMED", "ENUM_VALUE_DEPRECATED",
        "ENUM_VALUE_REMOVED", "INVALID_ENUM_VALUE", "BET_PLACED", "BET_SETTLED",
    }


def test_migration_files__never_import_choices_classes():
    for path in [*ROOT.glob("*/migrations/0*.py"), *ROOT.glob("tests/*/migrations/0*.py")]:
        text = path.read_text()
        assert "models.BetType" not in text and ".models import" not in text, path
        assert "TextChoices" not in text, path
