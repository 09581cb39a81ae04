"""Types and tables the blocking and the online swap tests both build, and how they remove a
value: one definition, so both swaps are tested on the same fixtures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext

from betintel.enums.operations import CreateEnumType, DeprecateEnumValue, RemoveEnumValue
from tests.helpers import apply_operations, enum_labels, run_sql


def create_type(name: str, values: list[str], deprecated: dict[str, str | None]) -> None:
    """Create enum type ``name`` with ``values``, then deprecate ``{value: replacement}``."""
    operations = [CreateEnumType(name, values)]
    operations += [DeprecateEnumValue(name, value, repl) for value, repl in deprecated.items()]
    apply_operations("enumapp", ProjectState(), operations)


def remove(name: str, value: str, replacement: str | None = None, atomic: bool = True) -> list:
    """Remove ``value`` from ``name`` in a migration; return the SQL it ran."""
    operation = RemoveEnumValue(name, value, replacement)
    with CaptureQueriesContext(connection) as captured:
        apply_operations("enumapp", ProjectState(), [operation], atomic=atomic)
    return [query["sql"] for query in captured.captured_queries]


def count(table: str, column: str) -> dict[str, int]:
    """How many rows of ``table`` hold each value of ``column``."""
    return dict(run_sql("SELECT {}::text, count(*) FROM {} GROUP BY 1", column, table))


def outside_table(kind: str, table: str, expression_index: bool = True) -> None:
    """A table of every dependent kind of ``kind``, with a primary key, made outside Django:
    defaults on a column and an array, a CHECK, a partial unique index with a comment, a GIN
    index and (unless told otherwise) an expression index."""
    run_sql(
        "CREATE TABLE {} ("
        " id serial PRIMARY KEY,"
        " kind {} NOT NULL DEFAULT 'c',"
        " tags {}[] NOT NULL DEFAULT '{{a,c}}',"
        " CONSTRAINT a_needs_tags CHECK (kind <> 'a' OR cardinality(tags) > 0))",
        table,
        kind,
        kind,
    )
    run_sql("CREATE UNIQUE INDEX {} ON {} (kind) WHERE kind = 'a'", f"{table}_one_a", table)
    run_sql("CREATE INDEX {} ON {} USING gin (tags)", f"{table}_tags", table)
    if expression_index:
        run_sql("CREATE INDEX {} ON {} ((kind = 'b'), id)", f"{table}_expr", table)
    run_sql("COMMENT ON INDEX {} IS 'at most one a'", f"{table}_one_a")
    run_sql(
        "INSERT INTO {} (kind, tags) VALUES ('a', '{{c}}'), ('c', '{{c,c,b}}'), ('b', '{{}}')",
        table,
    )
    run_sql("INSERT INTO {} DEFAULT VALUES", table)


def index_definitions(table: str) -> list[tuple]:
    """``(name, definition)`` of every index on ``table``, by name."""
    return run_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
        params=[table],
    )


def column_defaults(table: str) -> list[tuple]:
    """``(column, default expression)`` of ``table``'s columns but ``id``, by column."""
    return run_sql(
        "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
        "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = %s::regclass AND a.attname <> 'id' ORDER BY 1",
        params=[table],
    )


def assert_outside_table_enforcing(table: str) -> None:
    """After ``c`` became ``b`` in ``outside_table``: its partial unique index, its CHECK and
    its defaults still act on new rows."""
    with pytest.raises(IntegrityError, match=f"{table}_one_a"), transaction.atomic():
        run_sql("INSERT INTO {} (kind, tags) VALUES ('a', '{{a}}')", table)
    with pytest.raises(IntegrityError, match="a_needs_tags"), transaction.atomic():
        run_sql("INSERT INTO {} (kind, tags) VALUES ('b', '{{}}'), ('a', '{{}}')", table)
    run_sql("INSERT INTO {} DEFAULT VALUES", table)
    assert run_sql("SELECT kind::text, tags::text FROM {} ORDER BY id DESC LIMIT 1", table) == [
        ("b", "{a,b}")
    ]


@contextlib.contextmanager
def quoted_type_of_another_owner(scratch_types) -> Iterator[tuple[str, str, str]]:
    """``(kind, owner, table)``: a type whose name needs quoting, deprecating ``c`` for ``a``,
    owned by a role of its own, and a free table name; all three are dropped on the way out."""
    kind = scratch_types('Odd "Kind"')
    owner, table = scratch_types("owner"), scratch_types("things")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE ROLE {}", owner)
    run_sql("ALTER TYPE {} OWNER TO {}", kind, owner)
    try:
        yield kind, owner, table
    finally:
        run_sql("DROP TABLE IF EXISTS {}", table)
        run_sql("DROP TYPE {}", kind)
        run_sql("DROP ROLE {}", owner)


def assert_quoted_type_kept(kind: str, owner: str, table: str) -> None:
    """``c`` became ``a`` in ``table``'s ``kind`` column; the type kept its name, its owner and
    the column's default, now naming it quoted."""
    assert enum_labels(kind) == ["a", "b"]
    assert count(table, "kind") == {"a": 1, "b": 1}
    assert run_sql(
        "SELECT pg_get_userbyid(typowner) FROM pg_type WHERE typname = %s", params=[kind]
    ) == [(owner,)]
    quoted = '"' + kind.replace('"', '""') + '"'
    assert column_defaults(table) == [("kind", f"'a'::{quoted}")]
