"""The migration history replays the playbook; fields deconstruct to plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import enum_labels

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_bet_type_enum__history__labels_in_playbook_order():
    assert enum_labels("bet_type_enum") == [
        "h2h",
        "spreads",
        "totals",
        "player_points",
        "player_assists",
        "player_rebounds",
    ]


@pytest.mark.django_db
def test_types__named_as_the_spec_says():
    assert enum_labels("sport_enum")
    assert enum_labels("bet_status_enum")
    assert "INVALID_ENUM_VALUE" in enum_labels("auditactionenum")


def test_migration_files__never_import_choices_classes():
    for path in [*ROOT.glob("*/migrations/0*.py"), *ROOT.glob("tests/*/migrations/0*.py")]:
        text = path.read_text()
        assert "models.BetType" not in text and ".models import" not in text, path
        assert "TextChoices" not in text, path


def test_player_assists_and_rebounds__added_by_their_own_migrations():
    added = {
        path.name: path.read_text()
        for path in (ROOT / "bets" / "migrations").glob("0*.py")
        if "AddEnumValue" in path.read_text()
    }
    assert any("'player_assists'" in text for text in added.values())
    assert any("'player_rebounds'" in text for text in added.values())
