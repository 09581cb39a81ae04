"""Rows per enum value in ``enum_status``: exact counts, planner estimates, arrays, partitions."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from psycopg import sql

from tests.helpers import run_command


def execute(template: str, *names: str) -> None:
    statement = sql.SQL(template).format(*(sql.Identifier(name) for name in names))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def counts(type_name: str, *args: str) -> dict:
    """``{value: (rows, rows_estimated)}`` of ``type_name``, plus the entry itself."""
    out, err, code = run_command("enum_status", "--json", *args)
    entry = next(item for item in json.loads(out)["enums"] if item["type"] == type_name)
    return entry


def rows(entry: dict) -> dict[str, int | None]:
    return {item["value"]: item["rows"] for item in entry["values"]}


@pytest.fixture
def scratch_table(scratch_types):
    """An enum type (a, b, c) and a table holding 2000 × a and 1000 × b, never analysed."""
    type_name, table = scratch_types("cnt"), scratch_types("cnt_table")
    execute("CREATE TYPE {} AS ENUM ('a', 'b', 'c')", type_name)
    # Autovacuum stays off so that "never analysed" holds for as long as the test needs.
    execute("CREATE TABLE {} (id serial, v {}) WITH (autovacuum_enabled = false)",
            table, type_name)
    fill(table, type_name, 3000)
    return type_name, table


def fill(table: str, type_name: str, number: int) -> None:
    statement = sql.SQL(
        "INSERT INTO {} (v) SELECT (CASE WHEN i % 3 = 0 THEN 'b' ELSE 'a' END)::{} "
        "FROM generate_series(1, {}) AS i"
    ).format(sql.Identifier(table), sql.Identifier(type_name), sql.Literal(number))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def test_estimate__never_analysed__unknown_with_a_warning_not_a_crash(scratch_table):
    type_name, table = scratch_table

    entry = counts(type_name, "--counts", "estimate")

    assert entry["columns"] == [f"{table}.v"]
    assert rows(entry) == {"a": None, "b": None, "c": None}
    assert all(item["rows_estimated"] for item in entry["values"])
    assert any(f"ANALYZE {table}" in warning for warning in entry["warnings"])


def test_estimate__after_analyze__from_the_most_common_values(scratch_table):
    type_name, table = scratch_table
    execute("ANALYZE {}", table)

    entry = counts(type_name, "--counts", "estimate")

    found = rows(entry)
    assert found["a"] == pytest.approx(2000, rel=0.02)
    assert found["b"] == pytest.approx(1000, rel=0.02)
    assert found["c"] == 0
    assert all(item["rows_estimated"] for item in entry["values"])
    assert entry["warnings"] == []


def test_estimate__table_grew_since_analyze__scaled_to_its_current_size(scratch_table):
    type_name, table = scratch_table
    execute("ANALYZE {}", table)
    fill(table, type_name, 3000)

    found = rows(counts(type_name, "--counts", "estimate"))

    assert found["a"] == pytest.approx(4000, rel=0.05)
    assert found["b"] == pytest.approx(2000, rel=0.05)


def test_default_counts__small_table__exact_even_if_never_analysed(scratch_table):
    type_name, _ = scratch_table

    entry = counts(type_name)

    assert rows(entry) == {"a": 2000, "b": 1000, "c": 0}
    assert not any(item["rows_estimated"] for item in entry["values"])


def test_default_counts__table_above_the_limit__estimated_and_marked(scratch_table, settings):
    type_name, table = scratch_table
    execute("ANALYZE {}", table)
    settings.ENUM_EXACT_COUNT_LIMIT = 1000

    entry = counts(type_name)
    exact = counts(type_name, "--counts", "exact")

    assert all(item["rows_estimated"] for item in entry["values"])
    assert rows(entry)["a"] == pytest.approx(2000, rel=0.02)
    assert rows(exact) == {"a": 2000, "b": 1000, "c": 0}
    assert not any(item["rows_estimated"] for item in exact["values"])


def test_estimate__values_missing_from_statistics__share_the_rest(scratch_types):
    type_name, table = scratch_types("mcv"), scratch_types("mcv_table")
    execute("CREATE TYPE {} AS ENUM ('common', 'rare_1', 'rare_2', 'absent')", type_name)
    execute("CREATE TABLE {} (v {}) WITH (autovacuum_enabled = false)", table, type_name)
    # A statistics target of 1 keeps one most-common value; 300 rows are all sampled.
    statement = sql.SQL(
        "ALTER TABLE {t} ALTER COLUMN v SET STATISTICS 1; "
        "INSERT INTO {t} (v) SELECT 'common'::{e} FROM generate_series(1, 250); "
        "INSERT INTO {t} (v) SELECT 'rare_1'::{e} FROM generate_series(1, 25); "
        "INSERT INTO {t} (v) SELECT 'rare_2'::{e} FROM generate_series(1, 25); "
        "ANALYZE {t}"
    ).format(t=sql.Identifier(table), e=sql.Identifier(type_name))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))

    found = rows(counts(type_name, "--counts", "estimate"))

    assert found["common"] == pytest.approx(250, rel=0.02)
    # The 50 other rows are shared by the values the statistics do not list.
    assert found["rare_1"] + found["rare_2"] + found["absent"] == pytest.approx(50, abs=2)
    assert found["rare_1"] == found["rare_2"] == found["absent"]


def test_counts__array_column__listed_and_counted_once_per_row(scratch_types):
    type_name, table = scratch_types("arr"), scratch_types("arr_table")
    execute("CREATE TYPE {} AS ENUM ('x', 'y', 'z')", type_name)
    execute("CREATE TABLE {} (tags {}[]) WITH (autovacuum_enabled = false)", table, type_name)
    statement = sql.SQL(
        "INSERT INTO {t} (tags) SELECT ARRAY['x', 'x', 'y']::{e}[] FROM generate_series(1, 300); "
        "INSERT INTO {t} (tags) SELECT ARRAY['y']::{e}[] FROM generate_series(1, 100); "
        "INSERT INTO {t} (tags) VALUES (NULL), ('{{}}')"
    ).format(t=sql.Identifier(table), e=sql.Identifier(type_name))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))

    exact = counts(type_name, "--counts", "exact")
    execute("ANALYZE {}", table)
    estimated = counts(type_name, "--counts", "estimate")

    assert exact["columns"] == [f"{table}.tags"]
    assert rows(exact) == {"x": 300, "y": 400, "z": 0}
    assert rows(estimated)["x"] == pytest.approx(300, rel=0.05)
    assert rows(estimated)["y"] == pytest.approx(400, rel=0.05)
    assert rows(estimated)["z"] <= 0.01 * 402  # not listed: at most the planner's default


def test_counts__partitioned_table__parent_listed_and_partitions_counted(scratch_types):
    type_name, table = scratch_types("part"), scratch_types("part_table")
    first, second = scratch_types("part_one"), scratch_types("part_two")
    execute("CREATE TYPE {} AS ENUM ('p', 'q')", type_name)
    execute("CREATE TABLE {} (n int, v {}) PARTITION BY RANGE (n)", table, type_name)
    execute("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM (0) TO (1000)", first, table)
    execute("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM (1000) TO (2000)", second, table)
    statement = sql.SQL(
        "INSERT INTO {} (n, v) SELECT i, (CASE WHEN i < 1500 THEN 'p' ELSE 'q' END)::{} "
        "FROM generate_series(0, 1999) AS i"
    ).format(sql.Identifier(table), sql.Identifier(type_name))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))

    exact = counts(type_name, "--counts", "exact")
    execute("ANALYZE {}", table)
    estimated = counts(type_name, "--counts", "estimate")

    assert exact["columns"] == [f"{table}.v"]
    assert rows(exact) == {"p": 1500, "q": 500}
    assert rows(estimated)["p"] == pytest.approx(1500, rel=0.05)
    assert rows(estimated)["q"] == pytest.approx(500, rel=0.05)


def test_default_counts__big_table_never_analysed__sized_from_its_pages_and_unknown(
    scratch_table, settings
):
    type_name, table = scratch_table
    settings.ENUM_EXACT_COUNT_LIMIT = 1000  # the 3000 rows are "big"; no statistics yet

    entry = counts(type_name)

    assert rows(entry) == {"a": None, "b": None, "c": None}
    assert all(item["rows_estimated"] for item in entry["values"])
    assert any(f"ANALYZE {table}" in warning for warning in entry["warnings"])


def test_table_estimates__never_analysed__from_the_size_on_disk(scratch_table):
    from betintel.enums.introspection import enum_columns, table_estimates

    type_name, table = scratch_table
    column = enum_columns(connection)[type_name][0]

    estimate = table_estimates(connection, [column.table_oid])[column.table_oid]

    # No statistics at all: the estimate comes from the pages and the row width.
    assert 1000 < estimate < 9000


@pytest.fixture
def two_tables(scratch_types):
    """Two enum types and two tables: one with three enum columns (an array among them, NULLs
    in two), one with a single column; rows spread unevenly over the values."""
    kind, tag = scratch_types("kind"), scratch_types("tag")
    wide, narrow = scratch_types("wide"), scratch_types("narrow")
    execute("CREATE TYPE {} AS ENUM ('k1', 'k2', 'k3', 'k4')", kind)
    execute("CREATE TYPE {} AS ENUM ('t1', 't2', 't3')", tag)
    execute("CREATE TABLE {} (id serial, main {} NOT NULL, spare {}, tags {}[])",
            wide, kind, kind, tag)
    execute("CREATE TABLE {} (id serial, only_kind {})", narrow, kind)
    statement = sql.SQL(
        "INSERT INTO {wide} (main, spare, tags) "
        "SELECT (ARRAY['k1', 'k1', 'k2', 'k3'])[1 + i % 4]::{kind}, "
        "       CASE WHEN i % 5 = 0 THEN NULL ELSE (ARRAY['k2', 'k3'])[1 + i % 2]::{kind} END, "
        "       CASE i % 6 WHEN 0 THEN NULL WHEN 1 THEN '{{}}' "
        "                  WHEN 2 THEN ARRAY['t1', 't1', 't2']::{tag}[] "
        "                  WHEN 3 THEN ARRAY['t2', NULL]::{tag}[] "
        "                  ELSE ARRAY['t1']::{tag}[] END "
        "FROM generate_series(1, 1200) AS i; "
        "INSERT INTO {narrow} (only_kind) "
        "SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE 'k4'::{kind} END "
        "FROM generate_series(1, 90) AS i"
    ).format(wide=sql.Identifier(wide), narrow=sql.Identifier(narrow),
             kind=sql.Identifier(kind), tag=sql.Identifier(tag))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))
    return kind, tag, wide, narrow


def group_by(table: str, column: str, array: bool = False) -> dict[str, int]:
    """Rows per value of one column, the plain way: a GROUP BY of that column alone."""
    template = (
        "SELECT e.v::text, count(*) FROM {} AS t CROSS JOIN LATERAL "
        "(SELECT DISTINCT u.v FROM unnest(t.{}) AS u(v)) AS e WHERE e.v IS NOT NULL GROUP BY 1"
        if array else "SELECT {1}::text, count(*) FROM {0} WHERE {1} IS NOT NULL GROUP BY 1"
    )
    statement = sql.SQL(template).format(sql.Identifier(table), sql.Identifier(column))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))
        return dict(cursor.fetchall())


def test_exact_counts__several_enum_columns__one_query_per_table(two_tables):
    from django.test.utils import CaptureQueriesContext

    kind, tag, wide, narrow = two_tables

    with CaptureQueriesContext(connection) as captured:
        out, err, code = run_command("enum_status", "--json", "--counts", "exact")

    assert code in (0, 1), err
    for table in (wide, narrow):
        reading = [query["sql"] for query in captured if table in query["sql"]]
        assert len(reading) == 1, reading


def test_exact_counts__read_together__equal_a_group_by_per_column(two_tables):
    kind, tag, wide, narrow = two_tables

    kinds, tags = counts(kind, "--counts", "exact"), counts(tag, "--counts", "exact")

    assert sorted(kinds["columns"]) == sorted(
        [f"{wide}.main", f"{wide}.spare", f"{narrow}.only_kind"]
    )
    # The report sums the columns of a type; each column must match its own GROUP BY.
    expected = {"k1": 0, "k2": 0, "k3": 0, "k4": 0}
    for table, column in ((wide, "main"), (wide, "spare"), (narrow, "only_kind")):
        for value, number in group_by(table, column).items():
            expected[value] += number
    assert rows(kinds) == expected
    assert expected == {"k1": 600, "k2": 780, "k3": 780, "k4": 60}
    assert rows(tags) == {"t1": 600, "t2": 400, "t3": 0} == {
        "t3": 0, **group_by(wide, "tags", array=True)
    }
