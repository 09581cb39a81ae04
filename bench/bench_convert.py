"""Converting an indexed varchar choices column of N rows to a native enum type: ours
(``CreateEnumType`` + ``ConvertToEnumField``: rows checked first, then one ``ALTER``) against a
plain ``ALTER COLUMN … TYPE … USING``, and the table and index sizes before and after.

Run by hand: ``.venv/bin/python bench/bench_convert.py [--rows 1000000] [--repeat 3]``.
It works in a database of its own (``betintel_bench_migrations``), created and dropped here.
"""

from __future__ import annotations

import argparse

from benchdb import bench_database, execute, interleaved, report, server_version
from django.db import connection, models, transaction
from django.db.migrations.migration import Migration
from django.db.migrations.state import ModelState, ProjectState
from psycopg import sql

from betintel.enums import EnumField
from betintel.enums.conversion import ConvertToEnumField
from betintel.enums.operations import CreateEnumType

VALUES = ["h2h", "spreads", "totals", "corners"]
TYPE, TABLE = "bench_kind", "bench_bets"


def _state(kind: models.Field) -> ProjectState:
    state = ProjectState()
    state.add_model(ModelState("bench", "Bet", [
        ("id", models.BigAutoField(primary_key=True)),
        ("kind", kind),
        ("stake", models.DecimalField(max_digits=12, decimal_places=2)),
        ("placed_at", models.DateTimeField()),
    ], options={"db_table": TABLE}))
    return state


def _char_field() -> models.CharField:
    return models.CharField(max_length=20, choices=[(v, v) for v in VALUES], db_index=True)


def fresh(rows: int):
    """A ``prepare`` step: the table as Django makes it for the CharField (its index and its
    ``_like`` index), filled with ``rows`` rows."""

    def prepare(run: int) -> None:
        execute("DROP TABLE IF EXISTS {}", TABLE)
        execute("DROP TYPE IF EXISTS {}", TYPE)
        model = _state(_char_field()).apps.get_model("bench", "Bet")
        with connection.schema_editor() as editor:
            editor.create_model(model)
        execute(sql.SQL(
            "INSERT INTO {} (kind, stake, placed_at) SELECT (ARRAY['h2h','spreads','totals',"
            "'corners'])[1 + n % 4], (n % 500) + 0.5, now() FROM generate_series(1, {}) n"
        ).format(sql.Identifier(TABLE), sql.Literal(int(rows))))
        execute("VACUUM ANALYZE {}", TABLE)
        # Flush the load's dirty pages now, so no checkpoint lands inside a timed run.
        execute("CHECKPOINT")

    return prepare


def ours(run: int) -> None:
    migration = Migration("0002_convert", "bench")
    migration.operations = [
        CreateEnumType(TYPE, VALUES),
        ConvertToEnumField("bet", "kind", EnumField(type_name=TYPE, values=VALUES,
                                                   db_index=True)),
    ]
    with connection.schema_editor(atomic=True) as editor:
        migration.apply(_state(_char_field()), editor)


def plain(run: int) -> None:
    """What a DBA would type: the ``_like`` index must go first, or the ALTER fails."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
            [TABLE, "%_like"],
        )
        (like_index,) = cursor.fetchone()
    with transaction.atomic():
        execute(sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
            sql.Identifier(TYPE), sql.SQL(", ").join(map(sql.Literal, VALUES))))
        execute("DROP INDEX {}", like_index)
        execute(sql.SQL("ALTER TABLE {} ALTER COLUMN kind TYPE {} USING kind::{}").format(
            sql.Identifier(TABLE), sql.Identifier(TYPE), sql.Identifier(TYPE)))


def sizes() -> tuple[int, int]:
    """Table (heap) size and the size of all its indexes, in bytes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s::regclass), pg_indexes_size(%s::regclass)",
                       [TABLE, TABLE])
        return cursor.fetchone()


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per approach (median)")
    options = parser.parse_args()
    rows, repeat = options.rows, options.repeat
    prepare = fresh(rows)

    with bench_database():
        print(f"PostgreSQL {server_version()}: tables of {rows:,} rows, rebuilt before each run")
        prepare(0)
        before = sizes()
        ours(0)
        after = sizes()
        times = interleaved({
            "ours: CreateEnumType + ConvertToEnumField": (prepare, ours),
            "plain ALTER COLUMN ... TYPE ... USING": (prepare, plain),
        }, repeat)

    report(f"Converting a varchar(20) choices column to an enum type, {rows:,} rows "
           f"(median of {repeat})", list(times.items()),
           baseline="plain ALTER COLUMN ... TYPE ... USING")
    print(f"\nSizes (ours, {rows:,} rows): table {_mb(before[0])} -> {_mb(after[0])}, "
          f"indexes {_mb(before[1])} -> {_mb(after[1])} (the _like index is gone)")


if __name__ == "__main__":
    main()
