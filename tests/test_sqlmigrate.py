"""sqlmigrate shows each operation's SQL and changes nothing, the type swap included."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.state import ProjectState

from betintel.enums.operations import CreateEnumType, RemoveEnumValue
from tests.helpers import apply_operations, catalog_snapshot, enum_labels, run_sql

pytestmark = pytest.mark.django_db(transaction=True)


def _collected(operation, app_label: str = "enumapp") -> str:
    with connection.schema_editor(collect_sql=True, atomic=True) as editor:
        operation.database_forwards(app_label, editor, ProjectState(), ProjectState())
    return "\n".join(editor.collected_sql)


def test_remove_value__sqlmigrate__shows_the_planned_swap_and_changes_nothing(scratch_types):
    name = scratch_types("kinds")
    table = scratch_types("things")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "b", "c"])])
    run_sql("CREATE TABLE {} (kind {} DEFAULT 'a')", table, name)
    run_sql("INSERT INTO {} VALUES ('b'), ('c')", table)
    before = catalog_snapshot()

    text = _collected(RemoveEnumValue(name, "b", replacement="c"))

    assert "lock_timeout" in text
    assert f'ALTER TABLE "public"."{table}"' in text
    assert "USING" in text and "'b'" in text and "'c'" in text
    assert f'CREATE TYPE "{name}" AS ENUM (\'a\', \'c\')' in text
    assert "DROP TYPE" in text and "CASCADE" not in text
    assert catalog_snapshot() == before
    assert enum_labels(name) == ["a", "b", "c"]


def test_remove_value__sqlmigrate_before_value_exists__says_how_to_see_the_plan(scratch_types):
    name = scratch_types("kinds")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a"])])
    text = _collected(RemoveEnumValue(name, "b", replacement="a"))
    assert "planned from the catalog" in text
    assert "ALTER TABLE" not in text
