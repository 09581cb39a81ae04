"""Adding a value to an enum type: ours (ALTER TYPE ... ADD VALUE) on a table of N rows and on
an empty table, against the rebuild peers use (new type, ALTER COLUMN ... TYPE, drop, rename).

Run by hand: ``.venv/bin/python bench/bench_add_value.py [--rows 1000000] [--repeat 5]``.
It works in a database of its own (``betintel_bench_migrations``), created and dropped here.
"""

from __future__ import annotations

import argparse

from benchdb import (
    apply,
    bench_database,
    execute,
    interleaved,
    make_table,
    relfilenode,
    report,
    server_version,
)
from django.db import connection, transaction
from psycopg import sql

from betintel.enums.operations import AddEnumValue


def labels(type_name: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT enumlabel FROM pg_enum WHERE enumtypid = %s::regtype ORDER BY enumsortorder",
            [type_name],
        )
        return [row[0] for row in cursor.fetchall()]


def rebuild_with(type_name: str, table: str, value: str) -> None:
    """The peers' way: a new type with the value, every column converted, old type dropped."""
    new = f"{type_name}_new"
    statements = [
        sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
            sql.Identifier(new),
            sql.SQL(", ").join(sql.Literal(v) for v in [*labels(type_name), value]),
        ),
        sql.SQL("ALTER TABLE {} ALTER COLUMN kind TYPE {} USING kind::text::{}").format(
            sql.Identifier(table), sql.Identifier(new), sql.Identifier(new)
        ),
        sql.SQL("DROP TYPE {}").format(sql.Identifier(type_name)),
        sql.SQL("ALTER TYPE {} RENAME TO {}").format(
            sql.Identifier(new), sql.Identifier(type_name)
        ),
    ]
    with transaction.atomic():
        for statement in statements:
            execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the big tables")
    parser.add_argument("--repeat", type=int, default=5, help="runs per approach (median)")
    options = parser.parse_args()
    rows, repeat = options.rows, options.repeat

    with bench_database():
        print(f"PostgreSQL {server_version()}: setting up tables of {rows:,} rows ...")
        make_table("big_kind", "big_bets", rows)
        make_table("empty_kind", "empty_bets", 0)
        make_table("peer_kind", "peer_bets", rows)
        before = relfilenode("big_bets"), relfilenode("peer_bets")

        def nothing(run: int) -> None:
            return None

        medians = interleaved({
            "big": (nothing, lambda run: apply(AddEnumValue("big_kind", f"added_{run}"))),
            "empty": (nothing, lambda run: apply(AddEnumValue("empty_kind", f"added_{run}"))),
            "rebuild": (nothing, lambda run: rebuild_with("peer_kind", "peer_bets",
                                                          f"added_{run}")),
        }, repeat)
        ours_big, ours_empty, rebuild = medians["big"], medians["empty"], medians["rebuild"]
        rewritten = relfilenode("big_bets") != before[0], relfilenode("peer_bets") != before[1]

    big = f"ours: ADD VALUE, {rows:,} rows"
    report(
        f"Adding one value to an enum type, median of {repeat} runs each",
        [
            (big, ours_big),
            ("ours: ADD VALUE, empty table", ours_empty),
            (f"rebuild (new type + ALTER COLUMN TYPE), {rows:,} rows", rebuild),
        ],
        baseline=big,
    )
    print(f"  table rewritten: ours {'yes' if rewritten[0] else 'no'}, "
          f"rebuild {'yes' if rewritten[1] else 'no'}")


if __name__ == "__main__":
    main()
