"""Entries of enum operations that run before the audit table exists are kept in the database
(in the migration's own transaction) and reach the log, in order, once it exists.

Each test migrates a database of its own, created empty and dropped afterwards, with real
``manage.py migrate`` processes: one process ends before the audit table exists, another one
finds the held entries.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.fresh_database import manage_in, query
from tests.helpers import unique_name

pytestmark = pytest.mark.django_db

HELD_TABLE = "audit_auditlog_pending"

FAILING_MIGRATION = """\
from django.db import migrations

import betintel.enums.operations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        betintel.enums.operations.CreateEnumType(name={type_name!r}, values=["a", "b"]),
        migrations.RunSQL("SELECT 1 / 0"),
    ]
"""


def migrate_in(database: str, *args: str, **kwargs):
    return manage_in(database, "migrate", *args, **kwargs)


def test_migrate__bets_before_audit_table__entries_recorded_once_audit_table_exists(
    empty_database,
):
    early = migrate_in(empty_database, "bets", "0003")
    assert early.returncode == 0, early.stderr
    assert query(empty_database, "SELECT to_regclass('audit_auditlog')") == [(None,)]

    rest = migrate_in(empty_database)
    assert rest.returncode == 0, rest.stderr

    entries = query(
        empty_database,
        "SELECT details->>'migration', action::text, details->>'type', details->>'value' "
        "FROM audit_auditlog ORDER BY id",
    )
    bets_entries = [entry for entry in entries if entry[0].startswith("bets.")]
    assert bets_entries == [
        ("bets.0001_initial", "ENUM_TYPE_CREATED", "bet_status_enum", None),
        ("bets.0001_initial", "ENUM_TYPE_CREATED", "bet_type_enum", None),
        ("bets.0001_initial", "ENUM_TYPE_CREATED", "sport_enum", None),
        ("bets.0002_add_player_assists", "ENUM_VALUE_ADDED", "bet_type_enum", "player_assists"),
        ("bets.0003_add_player_rebounds", "ENUM_VALUE_ADDED", "bet_type_enum",
         "player_rebounds"),
    ]
    # They happened before audit.0001 created the action type, and the log keeps that order.
    assert entries[:5] == bets_entries
    assert entries[5][:3] == ("audit.0001_initial", "ENUM_TYPE_CREATED", "auditactionenum")
    assert query(empty_database, "SELECT to_regclass(%s)", [HELD_TABLE]) == [(None,)]


def test_migrate__rolled_back_before_audit_table__leaves_no_entry_and_no_held_row(
    empty_database, tmp_path,
):
    type_name = unique_name("doomed")
    package = unique_name("failing_migrations")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "0001_initial.py").write_text(
        textwrap.dedent(FAILING_MIGRATION.format(type_name=type_name))
    )

    failed = migrate_in(empty_database, "enumapp", settings={"MIGRATION_MODULES": {
        "enumapp": package}}, pythonpath=[tmp_path])
    assert failed.returncode != 0
    assert "division by zero" in failed.stderr
    assert query(empty_database, "SELECT to_regclass(%s)", [HELD_TABLE]) == [(None,)]

    done = migrate_in(empty_database)
    assert done.returncode == 0, done.stderr
    assert query(
        empty_database, "SELECT count(*) FROM audit_auditlog WHERE details->>'type' = %s",
        [type_name],
    ) == [(0,)]
    assert query(empty_database, "SELECT count(*) FROM pg_type WHERE typname = %s",
                 [type_name]) == [(0,)]


NEW_ACTION_MIGRATION = """\
from django.db import migrations

import betintel.enums.operations


def record_with_the_new_action(apps, schema_editor):
    from audit import writer

    writer.record(schema_editor.connection.alias, "AUDIT_TEST_ACTION", "uses the new action", {{}})


class Migration(migrations.Migration):
    initial = True
    dependencies = [("audit", "{audit_leaf}")]
    operations = [
        betintel.enums.operations.AddEnumValue(name="auditactionenum", value="AUDIT_TEST_ACTION"),
        migrations.RunPython(record_with_the_new_action),
    ]
"""


def test_migrate__entry_uses_an_action_added_by_the_same_migration__held_then_recorded(
    empty_database, tmp_path,
):
    from django.db.migrations.loader import MigrationLoader

    ((_app, audit_leaf),) = MigrationLoader(None).graph.leaf_nodes("audit")
    package = unique_name("new_action_migrations")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "0001_initial.py").write_text(
        NEW_ACTION_MIGRATION.format(audit_leaf=audit_leaf)
    )

    done = migrate_in(empty_database, settings={"MIGRATION_MODULES": {"enumapp": package}},
                      pythonpath=[tmp_path])

    assert done.returncode == 0, done.stderr
    last_two = query(
        empty_database,
        "SELECT action::text, message FROM audit_auditlog ORDER BY id DESC LIMIT 2",
    )
    assert last_two == [
        ("AUDIT_TEST_ACTION", "uses the new action"),
        ("ENUM_VALUE_ADDED", "Value added: auditactionenum.AUDIT_TEST_ACTION (forwards)"),
    ]
    assert query(empty_database, "SELECT to_regclass(%s)", [HELD_TABLE]) == [(None,)]
    verified = manage_in(empty_database, "audit_verify")
    assert verified.returncode == 0, verified.stderr
