"""The type swap behind RemoveEnumValue: every dependent found in the catalog and carried over.

Tables here are created by hand, outside Django, as an operator's or another tool's would be.
"""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError, connection, transaction

from betintel.enums import introspection
from betintel.enums.errors import RefusedChange
from tests.helpers import (
    catalog_snapshot,
    enum_labels,
    relfilenode,
    run_sql,
)
from tests.swap_fixtures import (
    assert_outside_table_enforcing,
    assert_quoted_type_kept,
    column_defaults,
    count,
    create_type,
    index_definitions,
    outside_table,
    quoted_type_of_another_owner,
    remove,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_remove_value__rows_present_with_replacement__rows_moved_none_lost(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("things")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {} NOT NULL)", table, kind)
    run_sql(
        "INSERT INTO {} (kind) SELECT (ARRAY['a','a','a','b','b','c','c','c','c'])[n]::{} "
        "FROM generate_series(1, 9) n",
        table,
        kind,
    )
    remove(kind, "c", "b")
    assert enum_labels(kind) == ["a", "b"]
    assert count(table, "kind") == {"a": 3, "b": 6}
    assert run_sql("SELECT count(*) FROM {}", table) == [(9,)]


def test_remove_value__rows_present_without_replacement__refused(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("things")
    create_type(kind, ["a", "b", "c"], {"c": None})
    run_sql("CREATE TABLE {} (id serial, kind {}, tags {}[])", table, kind, kind)
    run_sql(
        "INSERT INTO {} (kind, tags) VALUES ('c', '{{a}}'), ('c', '{{c,b}}'), ('a', NULL)", table
    )
    before = catalog_snapshot()
    with pytest.raises(RefusedChange) as refused:
        remove(kind, "c")
    message = str(refused.value)
    assert f"{table}.kind: 2 rows" in message
    assert f"{table}.tags: 1 row" in message
    assert "replacement" in message
    assert catalog_snapshot() == before
    assert count(table, "kind") == {"a": 1, "c": 2}


def test_remove_value__no_rows_hold_it_without_replacement__removed(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("things")
    create_type(kind, ["a", "b", "c"], {"b": None})
    run_sql("CREATE TABLE {} (kind {})", table, kind)
    run_sql("INSERT INTO {} VALUES ('a'), ('c')", table)
    remove(kind, "b")
    assert enum_labels(kind) == ["a", "c"]
    assert count(table, "kind") == {"a": 1, "c": 1}


def test_remove_value__not_deprecated__refused(scratch_types):
    kind = scratch_types("kind")
    create_type(kind, ["a", "b"], {})
    with pytest.raises(RefusedChange, match="not deprecated"):
        remove(kind, "b", "a")
    assert enum_labels(kind) == ["a", "b"]


def test_remove_value__replacement_not_a_value__refused(scratch_types):
    kind = scratch_types("kind")
    create_type(kind, ["a", "b"], {"b": None})
    with pytest.raises(RefusedChange, match="Replacement 'zzz' is not a value"):
        remove(kind, "b", "zzz")
    assert enum_labels(kind) == ["a", "b"]


def test_remove_value__table_outside_django__every_dependent_converted_and_enforcing(
    scratch_types,
):
    kind, table = scratch_types("kind"), scratch_types("outside")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    outside_table(kind, table, expression_index=False)
    definitions = _definitions(table)

    remove(kind, "c", "b")

    assert enum_labels(kind) == ["a", "b"]
    rows = run_sql("SELECT kind::text, tags::text FROM {} ORDER BY id", table)
    assert rows == [("a", "{b}"), ("b", "{b,b,b}"), ("b", "{}"), ("b", "{a,b}")]
    after = _definitions(table)
    assert after["indexes"] == definitions["indexes"]
    assert after["constraints"] == definitions["constraints"]
    assert after["defaults"] == [("kind", f"'b'::{kind}"), ("tags", f"'{{a,b}}'::{kind}[]")]
    assert after["comments"] == ["at most one a"]
    assert_outside_table_enforcing(table)
    # The type in use is the new one, and the old one is gone.
    assert run_sql("SELECT count(*) FROM pg_type WHERE typname LIKE 'betintel_swap_%'") == [(0,)]


def _definitions(table: str) -> dict:
    return {
        "indexes": index_definitions(table),
        "constraints": run_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1",
            params=[table],
        ),
        "defaults": column_defaults(table),
        "comments": [
            row[0]
            for row in run_sql(
                "SELECT obj_description(indexrelid, 'pg_class') FROM pg_index "
                "WHERE indrelid = %s::regclass AND obj_description(indexrelid, 'pg_class') "
                "IS NOT NULL",
                params=[table],
            )
        ],
    }


def test_remove_value__two_enum_columns_in_one_table__one_alter_table(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("pair")
    create_type(kind, ["a", "b", "c"], {"b": "a"})
    run_sql("CREATE TABLE {} (home {}, away {}, note text)", table, kind, kind)
    run_sql("INSERT INTO {} VALUES ('b', 'c', 'x'), ('c', 'b', 'y')", table)
    before = relfilenode(table)
    queries = remove(kind, "b", "a")
    alters = [query for query in queries if query.startswith(f'ALTER TABLE "public"."{table}"')]
    assert len(alters) == 1
    assert '"home" TYPE' in alters[0] and '"away" TYPE' in alters[0]
    assert relfilenode(table) != before
    assert run_sql("SELECT home::text, away::text, note FROM {} ORDER BY note", table) == [
        ("a", "c", "x"),
        ("c", "a", "y"),
    ]


@pytest.mark.parametrize(
    ("blocker", "named"),
    [
        ("CREATE VIEW {} AS SELECT kind FROM {}", "view {}"),
        ("CREATE VIEW {} AS SELECT count(*) FROM {} WHERE kind::text = 'a'", "view {}"),
    ],
)
def test_remove_value__view_on_the_column__refused_and_named(scratch_types, blocker, named):
    kind, table, view = scratch_types("kind"), scratch_types("things"), scratch_types("v")
    create_type(kind, ["a", "b"], {"b": "a"})
    run_sql("CREATE TABLE {} (kind {})", table, kind)
    run_sql(blocker, view, table)
    before = catalog_snapshot()
    with pytest.raises(RefusedChange) as refused:
        remove(kind, "b", "a")
    assert named.format(view) in str(refused.value)
    assert "Drop those objects" in str(refused.value)
    assert catalog_snapshot() == before
    run_sql("DROP VIEW {}", view)


@pytest.mark.parametrize(
    ("create", "drop", "named"),
    [
        ("CREATE DOMAIN {} AS {}", "DROP DOMAIN {}", "type {}"),
        (
            "CREATE FUNCTION {}(k {}) RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "DROP FUNCTION {}",
            "function {}(",
        ),
    ],
)
def test_remove_value__domain_or_function_uses_type__refused_and_named(
    scratch_types, create, drop, named
):
    kind, other = scratch_types("kind"), scratch_types("dep")
    create_type(kind, ["a", "b"], {"b": "a"})
    run_sql(create, other, kind)
    try:
        with pytest.raises(RefusedChange) as refused:
            remove(kind, "b", "a")
        assert named.format(other) in str(refused.value)
        assert enum_labels(kind) == ["a", "b"]
    finally:
        run_sql(drop, other)


def test_remove_value__constraint_names_the_removed_value__refused_and_named(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("things")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (kind {}, CONSTRAINT never_c CHECK (kind <> 'c'))", table, kind)
    before = catalog_snapshot()
    with pytest.raises(RefusedChange, match="constraint never_c on table"):
        remove(kind, "c", "b")
    assert catalog_snapshot() == before


def test_remove_value__mapping_breaks_a_constraint_non_atomic__nothing_changed(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("things")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int, kind {}, CHECK (kind <> 'b' OR id < 10))", table, kind)
    run_sql("INSERT INTO {} VALUES (1, 'b'), (50, 'c')", table)
    before = catalog_snapshot()
    with pytest.raises(IntegrityError):
        remove(kind, "c", "b", atomic=False)
    assert catalog_snapshot() == before
    assert count(table, "kind") == {"b": 1, "c": 1}


def test_remove_value__deprecation_comment_kept_minus_the_value(scratch_types):
    kind = scratch_types("kind")
    create_type(kind, ["a", "b", "c"], {"b": "c", "c": "a"})
    run_sql("CREATE TABLE {} (kind {})", scratch_types("things"), kind)
    remove(kind, "c", "a")
    existing = introspection.enum_type(connection, kind)
    # b's replacement was the removed c: it follows c's rows to a.
    assert introspection.recorded_deprecations(existing.comment) == {"b": "a"}


def test_remove_value__logs_each_table_with_rows_and_size_before_rewriting(
    scratch_types, caplog
):
    kind, table = scratch_types("kind"), scratch_types("logged")
    create_type(kind, ["a", "b"], {"b": "a"})
    run_sql("CREATE TABLE {} (kind {})", table, kind)
    run_sql("INSERT INTO {} SELECT 'a' FROM generate_series(1, 1500)", table)
    run_sql("ANALYZE {}", table)
    with caplog.at_level(logging.INFO, logger="betintel.enums.swap"):
        queries = remove(kind, "b", "a")
    lines = [record.getMessage() for record in caplog.records]
    line = next(line for line in lines if table in line)
    assert "about 1,500 rows" in line and "kB" in line and "(columns: kind)" in line
    assert any(query.startswith("ALTER TABLE") for query in queries)


def test_remove_value__partitioned_table__partitions_defaults_and_index_names_kept(
    scratch_types,
):
    kind, parent = scratch_types("kind"), scratch_types("parted")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int, kind {} DEFAULT 'c') PARTITION BY RANGE (id)", parent, kind)
    run_sql("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM (0) TO (10)", f"{parent}_1", parent)
    run_sql("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM (10) TO (20)", f"{parent}_2", parent)
    run_sql("CREATE UNIQUE INDEX {} ON {} (id, kind) WHERE kind = 'a'", f"{parent}_ix", parent)
    run_sql("ALTER TABLE {} ADD CONSTRAINT a_positive CHECK (kind <> 'a' OR id > 0)", parent)
    run_sql("INSERT INTO {} VALUES (1, 'c'), (11, 'a'), (12, DEFAULT)", parent)
    indexes = run_sql(
        "SELECT indexrelid::regclass::text, indisvalid, pg_get_indexdef(indexrelid) "
        "FROM pg_index WHERE indrelid::regclass::text LIKE %s ORDER BY 1",
        params=[f"{parent}%"],
    )
    try:
        remove(kind, "c", "b")
        assert run_sql("SELECT id, kind::text FROM {} ORDER BY id", parent) == [
            (1, "b"), (11, "a"), (12, "b")
        ]
        assert run_sql(
            "SELECT indexrelid::regclass::text, indisvalid, pg_get_indexdef(indexrelid) "
            "FROM pg_index WHERE indrelid::regclass::text LIKE %s ORDER BY 1",
            params=[f"{parent}%"],
        ) == indexes
        run_sql("INSERT INTO {} (id) VALUES (13)", parent)
        assert run_sql("SELECT kind::text FROM {} WHERE id = 13", parent) == [("b",)]
        with pytest.raises(IntegrityError), transaction.atomic():
            run_sql("INSERT INTO {} VALUES (11, 'a')", parent)
    finally:
        run_sql("DROP TABLE {}", parent)


def test_remove_value__partition_key_of_the_type__refused_and_named(scratch_types):
    kind, parent = scratch_types("kind"), scratch_types("parted")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int, kind {}) PARTITION BY LIST (kind)", parent, kind)
    try:
        with pytest.raises(RefusedChange, match=f"the partition key of table {parent}"):
            remove(kind, "c", "b")
        assert enum_labels(kind) == ["a", "b", "c"]
    finally:
        run_sql("DROP TABLE {}", parent)


def test_remove_value__foreign_key_between_columns_of_the_type__rebuilt(scratch_types):
    kind, keys, refs = scratch_types("kind"), scratch_types("keys"), scratch_types("refs")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (kind {} PRIMARY KEY)", keys, kind)
    run_sql("CREATE TABLE {} (id int, kind {} REFERENCES {} (kind))", refs, kind, keys)
    run_sql("INSERT INTO {} VALUES ('a'), ('b')", keys)
    run_sql("INSERT INTO {} VALUES (1, 'a'), (2, 'b')", refs)
    constraints = _definitions(refs)["constraints"]
    remove(kind, "c", "b")
    assert enum_labels(kind) == ["a", "b"]
    assert _definitions(refs)["constraints"] == constraints
    run_sql("DELETE FROM {} WHERE kind = 'b'", refs)
    with pytest.raises(IntegrityError, match="foreign key"), transaction.atomic():
        run_sql("DELETE FROM {} WHERE kind = 'a'", keys)


def test_remove_value__type_name_needs_quoting_and_other_owner__kept(scratch_types):
    with quoted_type_of_another_owner(scratch_types) as (kind, owner, table):
        run_sql("CREATE TABLE {} (kind {} DEFAULT 'c', CHECK (kind <> 'b' OR true))", table,
                kind)
        run_sql("CREATE INDEX {} ON {} (kind) WHERE kind = 'a'", f"{table}_a", table)
        run_sql("INSERT INTO {} VALUES ('c'), ('b')", table)
        remove(kind, "c", "a")
        assert_quoted_type_kept(kind, owner, table)
