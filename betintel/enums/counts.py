"""Where enum types are stored and how many rows hold each value: counted or estimated.

Counting is a full scan, so it is done only where it is cheap: below
``conf.exact_count_limit()`` rows per table (one million unless set), and each table is read
once for all its enum columns. Above, the numbers come
from the planner's statistics, as PostgreSQL itself would estimate them: the table's
``reltuples`` scaled to its current size, times each value's frequency in ``pg_stats``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from psycopg import sql

from . import conf

EXACT = "exact"
ESTIMATE = "estimate"
NONE = "none"
AUTO = "auto"
#: Modes a caller may ask for; ``AUTO`` counts small tables and estimates big ones.
MODES = (AUTO, EXACT, ESTIMATE, NONE)

# PostgreSQL's page layout: a 24-byte page header, and per tuple a 23-byte header padded to 24
# plus a 4-byte line pointer. Used only for tables that were never analysed.
_PAGE_HEADER = 24
_TUPLE_OVERHEAD = 28
_VARLENA_GUESS = 32
# The planner's selectivity for an array element it has no statistics about.
_DEFAULT_CONTAIN_SEL = 0.005


@dataclass(frozen=True)
class Column:
    """A table column whose type is an enum type, or an array of one."""

    type_name: str
    table_oid: int
    schema: str
    table: str
    name: str
    is_array: bool
    relkind: str
    #: ``table.column``; the table is schema-qualified only when outside the search path.
    label: str


@dataclass
class ColumnCounts:
    """Rows per value of one column. ``rows[value]`` is None where nothing is known."""

    rows: dict[str, int | None]
    estimated: bool
    #: The table has no planner statistics (never analysed), so estimates are unknown.
    unanalysed: bool = False
    table_rows: int | None = None
    notes: list[str] = field(default_factory=list)


_COLUMNS_SQL = """
SELECT t.typname, c.oid::int, n.nspname, c.relname, a.attname, a.atttypid = t.typarray,
       c.relkind::text, c.oid::regclass::text || '.' || a.attname
FROM pg_type t
JOIN pg_attribute a ON a.atttypid IN (t.oid, t.typarray)
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.typtype = 'e' AND t.typnamespace = current_schema()::regnamespace
  AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
ORDER BY t.typname, c.oid::regclass::text, a.attnum
"""


def enum_columns(connection) -> dict[str, list[Column]]:
    """Every column of any table using an enum type of the current schema, by type name.

    Partitions are left out: their parent's column stands for them.
    """
    with connection.cursor() as cursor:
        cursor.execute(_COLUMNS_SQL)
        rows = cursor.fetchall()
    columns: dict[str, list[Column]] = {}
    for row in rows:
        columns.setdefault(row[0], []).append(Column(*row))
    return columns


def count_values(
    connection,
    columns: Mapping[Column, Iterable[str]],
    mode: str = AUTO,
) -> dict[Column, ColumnCounts]:
    """Rows per value for each column, given the values its type has. See the module doc."""
    if mode not in MODES:
        raise ValueError(f"Unknown counts mode {mode!r}; use one of {', '.join(MODES)}.")
    if mode == NONE or not columns:
        return {
            column: ColumnCounts(dict.fromkeys(values), estimated=False)
            for column, values in columns.items()
        }
    sizes = table_estimates(connection, {column.table_oid for column in columns})
    limit = conf.exact_count_limit()

    def counted_exactly(column: Column) -> bool:
        total = sizes.get(column.table_oid)
        return mode == EXACT or (mode == AUTO and total is not None and total < limit)

    to_estimate = [column for column in columns if not counted_exactly(column)]
    stats = column_statistics(connection, to_estimate) if to_estimate else {}
    tables: dict[int, list[Column]] = {}
    for column in columns:
        if counted_exactly(column):
            tables.setdefault(column.table_oid, []).append(column)
    counted: dict[Column, dict[str, int]] = {}
    for table_columns in tables.values():
        counted.update(exact_table_counts(connection, table_columns))
    result = {}
    for column, values in columns.items():
        values = list(values)
        total = sizes.get(column.table_oid)
        if column in counted:
            found = dict(counted[column])
            rows = {value: found.pop(value, 0) for value in values}
            rows.update(found)
            result[column] = ColumnCounts(rows, estimated=False, table_rows=total)
        else:
            result[column] = estimated_counts(column, values, total, stats.get(column))
    return result


def exact_table_counts(connection, columns: list[Column]) -> dict[Column, dict[str, int]]:
    """Rows per value of each of ``columns`` (all of one table), reading the table once.

    One ``GROUP BY`` over all the columns together finds each combination of values that
    occurs, with its rows; the per-column counts are then summed from those few combinations
    (an array column counts once per value it holds, however often it repeats it). A scan per
    column would read the table as often as it has enum columns.
    """
    first = columns[0]
    table = sql.Identifier(first.schema, first.table)
    if first.relkind == "r":
        # Inheritance children are listed as columns of their own; do not count them twice.
        table = sql.SQL("ONLY {}").format(table)
    names = [sql.Identifier(column.name) for column in columns]
    per_column = []
    for position, (column, name) in enumerate(zip(columns, names, strict=True)):
        if column.is_array:
            branch = sql.SQL(
                "SELECT {position}, e.v::text, sum(g.n) FROM g "
                "CROSS JOIN LATERAL (SELECT DISTINCT u.v FROM unnest(g.{name}) AS u(v)) AS e "
                "WHERE e.v IS NOT NULL GROUP BY e.v"
            )
        else:
            branch = sql.SQL(
                "SELECT {position}, g.{name}::text, sum(g.n) FROM g "
                "WHERE g.{name} IS NOT NULL GROUP BY g.{name}"
            )
        per_column.append(branch.format(position=sql.Literal(position), name=name))
    query = sql.SQL(
        "WITH g AS (SELECT {names}, count(*) AS n FROM {table} GROUP BY {names}) {branches}"
    ).format(
        names=sql.SQL(", ").join(names),
        table=table,
        branches=sql.SQL(" UNION ALL ").join(per_column),
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(connection.connection))
        rows = cursor.fetchall()
    counted: dict[Column, dict[str, int]] = {column: {} for column in columns}
    for position, value, number in rows:
        counted[columns[position]][value] = int(number)
    return counted


def estimated_counts(
    column: Column, values: list[str], total: int | None, stats: ColumnStats | None
) -> ColumnCounts:
    """Estimate the rows per value from the table's size and the column's statistics."""
    if total == 0:
        return ColumnCounts(dict.fromkeys(values, 0), estimated=True, table_rows=0)
    if stats is None or total is None:
        return ColumnCounts(
            dict.fromkeys(values), estimated=True, unanalysed=True, table_rows=total
        )
    shares = stats.array_shares(values) if column.is_array else stats.scalar_shares(values)
    rows = {value: round(total * share) for value, share in shares.items()}
    return ColumnCounts(rows, estimated=True, table_rows=total)


@dataclass(frozen=True)
class ColumnStats:
    """What ``ANALYZE`` recorded about a column (a row of ``pg_stats``)."""

    null_frac: float
    n_distinct: float
    common_values: tuple[str, ...]
    common_freqs: tuple[float, ...]
    common_elems: tuple[str, ...]
    elem_freqs: tuple[float, ...]

    def scalar_shares(self, values: list[str]) -> dict[str, float]:
        """The fraction of all rows holding each value.

        Values in the most-common list have their measured frequency. The rest of the non-null
        rows are shared evenly among the type's other values, and only if the statistics saw
        more distinct values than the list holds; otherwise those values are taken to be absent.
        """
        listed = dict(zip(self.common_values, self.common_freqs, strict=False))
        others = [value for value in values if value not in listed]
        remaining = max(0.0, 1.0 - self.null_frac - sum(self.common_freqs))
        distinct = self.n_distinct if self.n_distinct >= 0 else None
        unseen = distinct is None or distinct - len(listed) >= 0.5
        share = remaining / len(others) if others and unseen else 0.0
        return {value: listed.get(value, share) for value in values}

    def array_shares(self, values: list[str]) -> dict[str, float]:
        """The fraction of all rows whose array holds each value (most-common elements)."""
        # most_common_elem_freqs ends with the minimum, maximum and null frequencies.
        freqs = self.elem_freqs[: len(self.common_elems)]
        listed = dict(zip(self.common_elems, freqs, strict=False))
        # An element missing from the list is rarer than the rarest listed one; like the
        # planner, take half of that, capped at its default containment selectivity.
        extra = self.elem_freqs[len(self.common_elems) :]
        rare = min(_DEFAULT_CONTAIN_SEL, extra[0] / 2) if listed and extra else 0.0
        non_null = 1.0 - self.null_frac
        return {value: listed.get(value, rare) * non_null for value in values}


_TABLES_SQL = """
SELECT root.oid::int, leaf.reltuples::float8, leaf.relpages::float8,
       pg_relation_size(leaf.oid)::float8 / current_setting('block_size')::int,
       current_setting('block_size')::int,
       (SELECT coalesce(sum(CASE WHEN a.attlen > 0 THEN a.attlen ELSE %s END), 0)
        FROM pg_attribute a
        WHERE a.attrelid = leaf.oid AND a.attnum > 0 AND NOT a.attisdropped)::float8
FROM pg_class root
CROSS JOIN LATERAL (
    SELECT tree.relid FROM pg_partition_tree(root.oid) AS tree
    WHERE root.relkind = 'p' AND tree.isleaf
    UNION ALL
    SELECT root.oid WHERE root.relkind <> 'p'
) AS part
JOIN pg_class leaf ON leaf.oid = part.relid
WHERE root.oid = ANY(%s)
"""


def table_estimates(connection, table_oids: Iterable[int]) -> dict[int, int]:
    """The planner's row estimate of each table (partitions summed), from pg_class alone."""
    oids = sorted(set(table_oids))
    if not oids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_TABLES_SQL, [_VARLENA_GUESS, oids])
        rows = cursor.fetchall()
    totals = dict.fromkeys(oids, 0.0)
    for oid, reltuples, relpages, pages_now, block_size, width in rows:
        totals[oid] += _leaf_estimate(reltuples, relpages, pages_now, block_size, width)
    return {oid: round(total) for oid, total in totals.items()}


def _leaf_estimate(
    reltuples: float, relpages: float, pages_now: float, block_size: int, width: float
) -> float:
    """Rows in one table, the way the planner scales ``reltuples`` to the current size."""
    if reltuples >= 0 and relpages > 0:
        return reltuples / relpages * pages_now
    if pages_now == 0:
        return 0.0
    # Never analysed (reltuples is -1 from PostgreSQL 14, 0 before): guess the density.
    return pages_now * (block_size - _PAGE_HEADER) / (width + _TUPLE_OVERHEAD)


# Filtering the pg_stats view by names lets PostgreSQL narrow it down before it decodes any
# statistics; joining it to pg_class by oid makes it decode every column of the tables.
_STATS_SQL = """
SELECT s.schemaname, s.tablename, s.attname, s.inherited,
       s.null_frac::float8, s.n_distinct::float8,
       s.most_common_vals::text::text[], s.most_common_freqs::float8[],
       s.most_common_elems::text::text[], s.most_common_elem_freqs::float8[]
FROM pg_stats s
WHERE s.schemaname = ANY(%s) AND s.tablename = ANY(%s) AND s.attname = ANY(%s)
"""


def column_statistics(connection, columns: list[Column]) -> dict[Column, ColumnStats]:
    """The ``pg_stats`` row of each column that has one (the table was analysed)."""
    names = [sorted({getattr(column, key) for column in columns})
             for key in ("schema", "table", "name")]
    with connection.cursor() as cursor:
        cursor.execute(_STATS_SQL, names)
        rows = cursor.fetchall()
    # A partitioned table's statistics cover its partitions (inherited); a plain table's not.
    by_name = {(row[0], row[1], row[2], row[3]): row[4:] for row in rows}
    found = {}
    for column in columns:
        key = (column.schema, column.table, column.name, column.relkind == "p")
        row = by_name.get(key)
        if row is not None:
            null_frac, n_distinct, values, freqs, elems, elem_freqs = row
            found[column] = ColumnStats(
                null_frac, n_distinct, tuple(values or ()), tuple(freqs or ()),
                tuple(elems or ()), tuple(elem_freqs or ()),
            )
    return found


def planner_rows(queryset) -> int | None:
    """The planner's estimate of the rows ``queryset`` returns (``EXPLAIN``), without running it."""
    try:
        plan = json.loads(queryset.explain(format="json"))
    except (TypeError, ValueError):
        return None
    if isinstance(plan, list):
        plan = plan[0]
    return int(plan["Plan"]["Plan Rows"])
