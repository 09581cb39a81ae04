"""Converting an indexed varchar choices column of N rows to a native enum type.

First, with nobody else on the table: ours in place (``CreateEnumType`` + ``ConvertToEnumField``
in an atomic migration: rows checked first, then one ``ALTER``) against a plain ``ALTER COLUMN
… TYPE … USING``. Then, with writer threads inserting, updating and reading the table the whole
time, on a fresh table each: that single ``ALTER`` against the online conversion (the same
operations in a non-atomic migration, ``ENUM_SWAP=online``), side by side: longest writer stall,
p99 writer latency, writer statements completed, total time, the longest lock that blocks
writers, and the table and index sizes before and after (a native enum is 4 bytes per row).

Run by hand: ``.venv/bin/python bench/bench_convert.py [--rows 1000000] [--repeat 3]
[--writers 4] [--batch 10000] [--skip-in-place]``; 10M rows (``--rows 10000000``) takes some
minutes. It works in a database of its own (``betintel_bench_migrations``), created and dropped
here.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from benchdb import bench_database, execute, interleaved, report, server_version
from django.conf import settings
from django.db import connection, models, transaction
from django.db.migrations.migration import Migration
from django.db.migrations.state import ModelState, ProjectState
from psycopg import sql

from bench.common import LockSampler, connect, during, mb, ms
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


def ours(run: int, atomic: bool = True) -> None:
    migration = Migration("0002_convert", "bench")
    migration.atomic = atomic
    migration.operations = [
        CreateEnumType(TYPE, VALUES),
        ConvertToEnumField("bet", "kind", EnumField(type_name=TYPE, values=VALUES,
                                                   db_index=True)),
    ]
    with connection.schema_editor(atomic=atomic) as editor:
        migration.apply(_state(_char_field()), editor)


def online(run: int) -> None:
    """Ours in a non-atomic migration with ``ENUM_SWAP=online``: converted beside the writers."""
    ours(run, atomic=False)


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
    return mb(size)


# With writers ----------------------------------------------------------------------------------

#: Writers run this long before the conversion and after it.
SETTLE_SECONDS = 2.0


class Writer(threading.Thread):
    """An application session inserting, updating and reading rows of the table, every
    statement timed. Its parameters are untyped, so the same statements work on the varchar
    column and on the enum column."""

    def __init__(self, number: int, rows: int, stop: threading.Event) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.rng, self.rows, self.stop = random.Random(number), rows, stop
        self.timings: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.inserted = 0

    def run(self) -> None:
        table = sql.Identifier(TABLE)
        insert = sql.SQL("INSERT INTO {} (kind, stake, placed_at) VALUES (%s, %s, now())"
                         ).format(table)
        update = sql.SQL("UPDATE {} SET kind = %s, stake = %s WHERE id = %s").format(table)
        read = sql.SQL("SELECT id, kind::text, stake FROM {} WHERE id = %s").format(table)
        rng = self.rng
        with connect() as session:
            session.execute("SET statement_timeout = '600s'")
            while not self.stop.is_set():
                pick = rng.random()
                started = time.perf_counter()
                try:
                    if pick < 0.3:
                        session.execute(insert, [rng.choice(VALUES), "10.5"])
                        self.inserted += 1
                    elif pick < 0.6:
                        session.execute(update, [rng.choice(VALUES), "2.5",
                                                 rng.randint(1, self.rows)])
                    else:
                        session.execute(read, [rng.randint(1, self.rows)]).fetchall()
                except Exception as exc:  # counted and shown: a writer must never fail
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                self.timings.append((started, time.perf_counter() - started))


def with_writers(label: str, convert, rows: int, writers: int) -> dict:
    """A fresh table, writers running, ``convert(0)`` timed; what the writers saw."""
    print(f"[{label}] preparing {rows:,} rows ...", flush=True)
    fresh(rows)(0)
    before = sizes()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [TABLE])
        (oid,) = cursor.fetchone()
    stop = threading.Event()
    threads = [Writer(number, rows, stop) for number in range(writers)]
    sampler = LockSampler(oid, stop)
    for thread in [*threads, sampler]:
        thread.start()
    time.sleep(SETTLE_SECONDS)
    print(f"[{label}] converting with {writers} writers running ...", flush=True)
    started = time.perf_counter()
    convert(0)
    ended = time.perf_counter()
    time.sleep(SETTLE_SECONDS)
    stop.set()
    for thread in [*threads, sampler]:
        thread.join()
    after = sizes()
    inserted = sum(thread.inserted for thread in threads)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*), format_type(a.atttypid, a.atttypmod) "
                               "FROM {}, pg_attribute a WHERE a.attrelid = %s::regclass "
                               "AND a.attname = 'kind' GROUP BY 2").format(
                                   sql.Identifier(TABLE)), [TABLE])
        count, kind = cursor.fetchone()
    notes = []
    if count != rows + inserted:
        notes.append(f"row count {count:,} != {rows:,} + {inserted:,} inserted")
    if kind != TYPE:
        notes.append(f"the column is {kind}, not {TYPE}")
    figures = during([t for thread in threads for t in thread.timings], started, ended)
    return {
        "label": label, "seconds": ended - started, **figures,
        "errors": [error for thread in threads for error in thread.errors],
        "lock": (sampler.longest, sampler.longest_mode), "before": before, "after": after,
        "notes": notes,
    }


def report_writers(rows: int, writers: int, outcomes: list[dict]) -> None:
    lines = [
        ("longest writer stall", lambda o: ms(o["stall"])),
        ("p99 writer latency", lambda o: ms(o["p99"])),
        ("writer statements completed", lambda o: f"{o['statements']:,}"),
        ("writer errors", lambda o: str(len(o["errors"]))),
        ("total time", lambda o: f"{o['seconds']:,.2f} s"),
        ("longest writer-blocking lock", lambda o: (
            f"{ms(o['lock'][0])} ({o['lock'][1]})" if o["lock"][1] else "none seen (< 10 ms)")),
        ("table before / after", lambda o: f"{mb(o['before'][0])} / {mb(o['after'][0])}"),
        ("indexes before / after", lambda o: f"{mb(o['before'][1])} / {mb(o['after'][1])}"),
    ]
    width = max(len(label) for label, _ in lines)
    column = max(32, *(len(o["label"]) for o in outcomes))
    print(f"\nConverting a varchar(20) choices column to an enum type, {rows:,} rows, "
          f"{writers} writer threads")
    print(f"  {''.ljust(width)}  " + "  ".join(f"{o['label']:>{column}}" for o in outcomes))
    for label, show in lines:
        print(f"  {label.ljust(width)}  " + "  ".join(f"{show(o):>{column}}" for o in outcomes))
    for outcome in outcomes:
        for error in sorted(set(outcome["errors"]))[:5]:
            print(f"  {outcome['label']} writer error: {error}")
        for note in outcome["notes"]:
            print(f"  {outcome['label']}: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per approach (median)")
    parser.add_argument("--writers", type=int, default=4,
                        help="writer threads during the online comparison (default 4)")
    parser.add_argument("--batch", type=int, default=None,
                        help="ENUM_BACKFILL_BATCH for the online conversion (default: the "
                             "setting's)")
    parser.add_argument("--skip-in-place", action="store_true",
                        help="only the comparison with writers running")
    options = parser.parse_args()
    rows, repeat = options.rows, options.repeat
    prepare = fresh(rows)

    with bench_database():
        print(f"PostgreSQL {server_version()}: tables of {rows:,} rows, rebuilt before each run")
        if not options.skip_in_place:
            prepare(0)
            before = sizes()
            ours(0)
            after = sizes()
            times = interleaved({
                "ours: CreateEnumType + ConvertToEnumField": (prepare, ours),
                "plain ALTER COLUMN ... TYPE ... USING": (prepare, plain),
            }, repeat)
        settings.ENUM_SWAP = "online"
        if options.batch:
            settings.ENUM_BACKFILL_BATCH = options.batch
        outcomes = [
            with_writers("single ALTER ... TYPE ... USING", plain, rows, options.writers),
            with_writers("online ConvertToEnumField", online, rows, options.writers),
        ]

    if not options.skip_in_place:
        report(f"Converting a varchar(20) choices column to an enum type, {rows:,} rows "
               f"(median of {repeat})", list(times.items()),
               baseline="plain ALTER COLUMN ... TYPE ... USING")
        print(f"\nSizes (ours, {rows:,} rows): table {_mb(before[0])} -> {_mb(after[0])}, "
              f"indexes {_mb(before[1])} -> {_mb(after[1])} (the _like index is gone)")
    report_writers(rows, options.writers, outcomes)


if __name__ == "__main__":
    main()
