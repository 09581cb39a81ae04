"""How many rows hold each value of an enum column: counted or estimated.

Counting is a full scan, so it is done only where it is cheap: below
``conf.exact_count_limit()`` rows per table (one million unless set), and each table is read
once for all its enum columns. Above, the numbers come
from the planner's statistics, as PostgreSQL itself would estimate them: the table's
``reltuples`` scaled to its current size, times each value's frequency in ``pg_stats``
(both read by ``introspection.tables``, which also lists the columns, ``enum_columns``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from psycopg import sql

from . import conf
from .introspection import Column, ColumnStats, column_statistics, table_estimates

EXACT = "exact"
ESTIMATE = "estimate"
NONE = "none"
AUTO = "auto"
#: Modes a caller may ask for; ``AUTO`` counts small tables and estimates big ones.
MODES = (AUTO, EXACT, ESTIMATE, NONE)


@dataclass
class ColumnCounts:
    """Rows per value of one column. ``rows[value]`` is None where nothing is known."""

    rows: dict[str, int | None]
    estimated: bool
    #: The table has no planner statistics (never analysed), so estimates are unknown.
    unanalysed: bool = False
    table_rows: int | None = None
    notes: list[str] = field(default_factory=list)


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
        if column.array:
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
    shares = stats.array_shares(values) if column.array else stats.scalar_shares(values)
    rows = {value: round(total * share) for value, share in shares.items()}
    return ColumnCounts(rows, estimated=True, table_rows=total)


def planner_rows(queryset) -> int | None:
    """The planner's estimate of the rows ``queryset`` returns (``EXPLAIN``), without running it."""
    try:
        plan = json.loads(queryset.explain(format="json"))
    except (TypeError, ValueError):
        return None
    if isinstance(plan, list):
        plan = plan[0]
    return int(plan["Plan"]["Plan Rows"])
