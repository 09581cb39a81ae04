"""With a same-named type in a schema earlier in ``search_path``, the engine works on the type the
columns use and never touches the other one (SPEC §7)."""

from __future__ import annotations

import pytest
from django.db.migrations.state import ProjectState

from betintel.enums.operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    RemoveEnumValue,
    RenameEnumValue,
)
from tests.helpers import apply_operations, run_sql, unapply_operations, unique_name

pytestmark = pytest.mark.django_db(transaction=True)

DECOY_COMMENT = "a decoy: never touched"


def _type(schema: str, name: str) -> tuple[list[str], str | None, int] | None:
    """Labels, comment and oid of ``schema.name``, read without ``search_path``."""
    rows = run_sql(
        "SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder), "
        "obj_description(t.oid, 'pg_type'), t.oid::int FROM pg_type t "
        "JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid "
        "WHERE n.nspname = %s AND t.typname = %s GROUP BY t.oid",
        params=[schema, name],
    )
    return (list(rows[0][0]), rows[0][1], rows[0][2]) if rows else None


@pytest.fixture
def decoy(scratch_types):
    """A type and a table of it in ``public``, and a same-named decoy type in a schema that
    comes first in ``search_path``."""
    name, table, other = scratch_types("kind"), scratch_types("real"), unique_name("other")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "b", "c"])])
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {} NOT NULL)", table, name)
    run_sql("INSERT INTO {} (kind) VALUES ('a'), ('c')", table)
    run_sql("CREATE SCHEMA {}", other)
    run_sql("CREATE TYPE {}.{} AS ENUM ('a', 'b', 'c')", other, name)
    run_sql("COMMENT ON TYPE {}.{} IS %s", other, name, params=[DECOY_COMMENT])
    before = _type(other, name)
    run_sql("SET search_path = {}, public", other)
    try:
        yield name, table, other
        assert _type(other, name) == before
    finally:
        run_sql("RESET search_path")
        run_sql("DROP SCHEMA {} CASCADE", other)


def test_add_and_rename_value__decoy_earlier_in_search_path__real_type_changed(decoy):
    name, _table, other = decoy
    add, rename = AddEnumValue(name, "d", after="b"), RenameEnumValue(name, "a", "alpha")
    state = apply_operations("enumapp", ProjectState(), [add, rename])
    assert _type("public", name)[0] == ["alpha", "b", "d", "c"]
    unapply_operations("enumapp", state, [add, rename])
    assert _type("public", name)[0] == ["a", "b", "c"]


def test_deprecate_value__decoy_earlier_in_search_path__comment_on_the_real_type(decoy):
    name, _table, _other = decoy
    deprecate = DeprecateEnumValue(name, "c", "b")
    state = apply_operations("enumapp", ProjectState(), [deprecate])
    assert _type("public", name)[1] == '{"betintel": {"deprecated": {"c": "b"}}}'
    unapply_operations("enumapp", state, [deprecate])
    assert _type("public", name)[1] is None


@pytest.mark.parametrize("atomic", [True, False])
def test_remove_value__decoy_earlier_in_search_path__real_type_swapped(decoy, atomic):
    name, table, _other = decoy
    apply_operations("enumapp", ProjectState(), [DeprecateEnumValue(name, "c", "b")])
    apply_operations("enumapp", ProjectState(), [RemoveEnumValue(name, "c", "b")],
                     atomic=atomic)
    assert _type("public", name)[0] == ["a", "b"]
    assert run_sql("SELECT kind::text FROM public.{} ORDER BY id", table) == [("a",), ("b",)]
    assert run_sql(
        "SELECT format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'kind'", params=[f"public.{table}"]
    ) == [(f"public.{name}",)]
    assert run_sql("SELECT count(*) FROM pg_type WHERE typname LIKE 'betintel_swap%%'") == [(0,)]
