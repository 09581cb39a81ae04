"""Removing a value from an enum type on a table of N rows: ours (RemoveEnumValue's type swap)
against a hand-written single-pass swap, with one enum column and with two in one table.

Run by hand: ``.venv/bin/python bench/bench_remove_value.py [--rows 1000000] [--repeat 5]``.
It works in a database of its own (``betintel_bench_migrations``), created and dropped here.
"""

from __future__ import annotations

import argparse

from benchdb import apply, bench_database, execute, interleaved, make_table, report, server_version
from django.db import connection, transaction
from psycopg import sql

from betintel.enums.operations import DeprecateEnumValue, RemoveEnumValue

VALUES = ["h2h", "spreads", "totals", "corners"]
REMOVED, REPLACEMENT = "corners", "totals"
TYPE, TABLE = "bench_kind", "bench_bets"


def fresh(rows: int, columns: tuple[str, ...]):
    """A ``prepare`` step: the table rebuilt from scratch, so each run starts alike."""

    def prepare(run: int) -> None:
        execute("DROP TABLE IF EXISTS {}", TABLE)
        execute("DROP TYPE IF EXISTS {}", TYPE)
        make_table(TYPE, TABLE, rows, columns)
        apply(DeprecateEnumValue(TYPE, REMOVED, REPLACEMENT))

    return prepare


def ours(run: int) -> None:
    apply(RemoveEnumValue(TYPE, REMOVED, REPLACEMENT))


def by_hand(columns: tuple[str, ...], one_statement: bool):
    """A careful DBA's swap: new type, columns converted with the value mapped, old type gone."""

    def convert(column: str) -> sql.Composable:
        return sql.SQL(
            "ALTER COLUMN {col} TYPE {new} USING "
            "(CASE WHEN {col}::text = {old} THEN {repl} ELSE {col}::text END)::{new}"
        ).format(col=sql.Identifier(column), new=sql.Identifier(f"{TYPE}_new"),
                 old=sql.Literal(REMOVED), repl=sql.Literal(REPLACEMENT))

    def alter(parts: list[sql.Composable]) -> sql.Composable:
        return sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(TABLE), sql.SQL(", ").join(parts))

    def run(_run: int) -> None:
        conversions = [convert(column) for column in columns]
        alters = [alter(conversions)] if one_statement else [alter([c]) for c in conversions]
        kept = [value for value in VALUES if value != REMOVED]
        with transaction.atomic():
            execute(sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
                sql.Identifier(f"{TYPE}_new"), sql.SQL(", ").join(map(sql.Literal, kept))
            ))
            for statement in alters:
                execute(statement)
            execute("DROP TYPE {}", TYPE)
            execute("ALTER TYPE {} RENAME TO {}", f"{TYPE}_new", TYPE)

    return run


def check(rows: int) -> None:
    """After the last run: every row kept, and the value gone from the type."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE))
                       .as_string(connection.connection))
        assert cursor.fetchone()[0] == rows
        cursor.execute("SELECT count(*) FROM pg_enum WHERE enumtypid = %s::regtype "
                       "AND enumlabel = %s", [TYPE, REMOVED])
        assert cursor.fetchone()[0] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    parser.add_argument("--repeat", type=int, default=5, help="runs per approach (median)")
    options = parser.parse_args()
    rows, repeat = options.rows, options.repeat
    one, two = ("kind",), ("home", "away")

    with bench_database():
        print(f"PostgreSQL {server_version()}: tables of {rows:,} rows, rebuilt before each run")
        single = interleaved({
            "ours: RemoveEnumValue": (fresh(rows, one), ours),
            "hand-written single-pass swap": (fresh(rows, one), by_hand(one, True)),
        }, repeat)
        check(rows)
        double = interleaved({
            "ours: RemoveEnumValue (one ALTER TABLE)": (fresh(rows, two), ours),
            "hand-written, one ALTER TABLE": (fresh(rows, two), by_hand(two, True)),
            "hand-written, one ALTER TABLE per column": (fresh(rows, two), by_hand(two, False)),
        }, repeat)
        check(rows)

    report(f"Removing one value, one enum column, {rows:,} rows (median of {repeat})",
           list(single.items()), baseline="hand-written single-pass swap")
    report(f"Removing one value, two enum columns in one table, {rows:,} rows "
           f"(median of {repeat})", list(double.items()), baseline="hand-written, one ALTER TABLE")

if __name__ == "__main__":
    main()
