"""Tables in the catalog: their enum columns, sizes, planner estimates and statistics.

The counts (``counts.py``) read the rows of small tables and estimate those of big ones from
what is here, as PostgreSQL itself would: the table's ``reltuples`` scaled to its current
size (``table_estimates``), times each value's frequency in ``pg_stats``
(``column_statistics``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .objects import Column, Table
from .types import CURRENT_NAMESPACE

# PostgreSQL's page layout: a 24-byte page header, and per tuple a 23-byte header padded to 24
# plus a 4-byte line pointer. Used only for tables that were never analysed.
_PAGE_HEADER = 24
_TUPLE_OVERHEAD = 28
_VARLENA_GUESS = 32
# The planner's selectivity for an array element it has no statistics about.
_DEFAULT_CONTAIN_SEL = 0.005

_COLUMNS_SQL = f"""
SELECT t.typname, c.oid::int, n.nspname, c.relname, a.attname, a.attnum, a.atttypid = t.typarray,
       c.relkind::text, c.oid::regclass::text || '.' || a.attname
FROM pg_type t
JOIN pg_attribute a ON a.atttypid IN (t.oid, t.typarray)
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.typtype = 'e' AND t.typnamespace = {CURRENT_NAMESPACE}
  AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
ORDER BY t.typname, c.oid::regclass::text, a.attnum
"""

# A column by its table's name (as the search path finds it) and its own, with its default.
_TABLE_COLUMN_SQL = """
SELECT c.oid::bigint, n.nspname, c.relname, c.reltuples::bigint, a.attnum,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.oid = to_regclass(%s)
"""


def enum_columns(connection) -> dict[str, list[Column]]:
    """Every column of any table using an enum type of the current schema, by type name.

    Partitions are left out: their parent's column stands for them.
    """
    with connection.cursor() as cursor:
        cursor.execute(_COLUMNS_SQL)
        rows = cursor.fetchall()
    columns: dict[str, list[Column]] = {}
    for (type_name, table_oid, schema, table, name, attnum, array, relkind, label) in rows:
        columns.setdefault(type_name, []).append(
            Column(type_name, table_oid, schema, table, name, attnum, array, relkind, label)
        )
    return columns


def table_column(connection, table: str, column: str) -> tuple[Table, int, str | None] | None:
    """The table ``table`` (a quoted name, found through the search path) with its planner
    estimate, the ``attnum`` of its column ``column`` and that column's default expression;
    None when there is no such column."""
    with connection.cursor() as cursor:
        cursor.execute(_TABLE_COLUMN_SQL, [column, table])
        row = cursor.fetchone()
    if row is None:
        return None
    oid, schema, name, rows, attnum, default = row
    return Table(oid, schema, name, estimated_rows=rows), attnum, default


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
