"""Refusing a conversion before anything changes, naming the rows that would not survive it.

Going to the enum, the values that are not labels of the type (empty strings and whitespace
variants included); going back to a character column, the values longer than its
``max_length``. Each refusal names up to ``SHOWN_VALUES`` of them with their row counts, and
how many others there are, all found in one scan of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from .. import sql as enum_sql
from ..errors import RefusedChange
from .fields import innermost
from .plan import ColumnConversion, enum_labels

#: How many offending values a refusal names.
SHOWN_VALUES = 10


@dataclass(frozen=True)
class Offending:
    """Values that would not survive a conversion: the first few, and how many there are."""

    #: ``(value, rows holding it)``, most rows first, at most ``SHOWN_VALUES``.
    shown: list[tuple[str, int]]
    distinct: int

    def __bool__(self) -> bool:
        return bool(self.shown)

    def describe(self) -> str:
        """``'' (3 rows), 'red ' (1 row), and 4 other values``."""
        parts = [f"{value!r} ({_rows(count)})" for value, count in self.shown]
        others = self.distinct - len(self.shown)
        if others > 0:
            parts.append(f"and {others} other value{'s' if others != 1 else ''}")
        return ", ".join(parts)


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def stray_values(connection, plan: ColumnConversion, labels: list[str]) -> Offending:
    """The values of the column that are not labels of the type."""
    return _offending(connection, plan, sql.SQL("v <> ALL({})").format(sql.Literal(labels)))


def too_long_values(connection, plan: ColumnConversion, max_length: int) -> Offending:
    """The values of the column longer than ``max_length`` characters."""
    return _offending(connection, plan, sql.SQL("char_length(v) > {}").format(
        sql.Literal(max_length)))


def _offending(connection, plan: ColumnConversion, condition: sql.Composable) -> Offending:
    """One scan of the table: each offending value with the rows holding it (for arrays, the
    rows holding it at least once); the window count says how many values there are in all."""
    column = sql.Identifier(plan.column)
    if plan.array:
        values = sql.SQL(
            "SELECT DISTINCT t.ctid, u.v FROM {} t CROSS JOIN LATERAL unnest(t.{}::text[]) u(v)"
        ).format(plan.table.identifier, column)
    else:
        values = sql.SQL("SELECT {}::text AS v FROM {}").format(column, plan.table.identifier)
    query = sql.SQL(
        "SELECT v, count(*), count(*) OVER () FROM ({}) s WHERE v IS NOT NULL AND {} "
        "GROUP BY v ORDER BY count(*) DESC, v LIMIT {}"
    ).format(values, condition, sql.Literal(SHOWN_VALUES))
    with connection.cursor() as cursor:
        cursor.execute(enum_sql.render(query, connection))
        rows = cursor.fetchall()
    return Offending([(value, count) for value, count, _ in rows], rows[0][2] if rows else 0)


def refuse_if_unconvertible(connection, plan: ColumnConversion) -> None:
    """Refuse, naming up to ten offending values with their row counts, when rows would not
    survive the conversion."""
    if plan.table is None:
        return
    where = f"column {plan.column} of table {plan.table}"
    if plan.to_enum:
        labels = enum_labels(connection, plan.type_name)
        if labels is None:
            raise RefusedChange(
                f"Enum type {plan.type_name} does not exist, so {where} cannot be converted "
                "to it. Apply the migration that creates it (CreateEnumType) first."
            )
        found = stray_values(connection, plan, labels)
        if found:
            raise RefusedChange(
                f"Column {plan.column} of table {plan.table} cannot be converted to enum type "
                f"{plan.type_name}: rows hold values that are not values of the type: "
                f"{found.describe()}. Nothing was changed. Map those rows to values "
                f"of the type ({', '.join(labels)}) with a data migration (RunPython or "
                "RunSQL) placed before this one, or add the values to the choices class, "
                "then run makemigrations and migrate again."
            )
        return
    max_length = getattr(innermost(plan.character_field), "max_length", None)
    if max_length is not None:
        found = too_long_values(connection, plan, max_length)
        if found:
            raise RefusedChange(
                f"Column {plan.column} of table {plan.table} cannot be converted to "
                f"{plan.target_type}: rows hold values longer than {max_length} characters: "
                f"{found.describe()}. Nothing was changed. Give the field a "
                "max_length that fits them, then run makemigrations and migrate again."
            )
