"""Removing a value from bet_type_enum on N bets while writers keep writing: the blocking type
swap against the online one, each on an identical copy of one database.

Run by hand from the project root (the first run fills its own database, which takes minutes
at 10M rows; later runs reuse it):

    .venv/bin/python -m bench.bench_online_remove [--bets 10000000] [--writers 4] [--drop]

The bets are built once in ``--database-name`` (``betintel_bench_online``), and each swap runs
in a fresh file copy of it (``<name>_run``), so both start from the same rows, pages and
statistics. ``--bets 1000000`` takes about a minute (the first fill 15 s more). 10M takes
about ten minutes, two to three of them for the first fill: the online backfill copies some 50k
rows a second on two busy cores, so its swap alone runs three to four minutes. ``--batch``
trades the longest writer stall (a writer touching a row of the batch being copied waits for
that batch's transaction) against the total duration.

Writer threads (own connections, autocommit) insert, update and read bets by raw SQL before,
during and after the swap; ``player_rebounds`` (about 4.5% of the rows) is removed, its rows
moving to ``player_points``. A sampler reads ``pg_locks`` every 10 ms for table locks that block
writers (SHARE and stronger).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from bench.common import (
    LockSampler,
    arguments,
    connect,
    copy_database,
    drop_database,
    ensure_bets,
    mb,
    ms,
    percentile,
    setup_django,
)

TYPE, REMOVED, REPLACEMENT = "bet_type_enum", "player_rebounds", "player_points"
KEPT = ["h2h", "spreads", "totals", "player_points", "player_assists"]
SPORTS = ["soccer", "basketball", "american_football", "baseball", "ice_hockey", "tennis"]
STATUSES = ["pending", "won", "lost", "void"]
#: Writers run this long before the swap (the baseline) and after it.
SETTLE_SECONDS = 3.0


class Writer(threading.Thread):
    """An application session: inserts, updates and reads bets; every statement timed."""

    def __init__(self, number: int, ids: tuple[int, int], stop: threading.Event) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.rng = random.Random(number)
        self.ids, self.stop = ids, stop
        #: (start, seconds) of every statement, by perf_counter.
        self.timings: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.inserted = 0

    def run(self) -> None:
        insert = ("INSERT INTO bets_bet (sport, bet_type, status, selection, odds, stake, "
                  "placed_at) VALUES (%s, %s, %s, %s, %s, %s, now()) RETURNING id")
        update = "UPDATE bets_bet SET bet_type = %s, status = %s WHERE id = %s"
        read = "SELECT id, bet_type, status, odds FROM bets_bet WHERE id = %s"
        rng = self.rng
        with connect() as session:
            session.execute("SET statement_timeout = '300s'")
            while not self.stop.is_set():
                pick = rng.random()
                started = time.perf_counter()
                try:
                    if pick < 0.3:
                        session.execute(insert, [rng.choice(SPORTS), rng.choice(KEPT),
                                                 rng.choice(STATUSES), "Bench selection",
                                                 "2.5", "10"])
                        self.inserted += 1
                    elif pick < 0.6:
                        session.execute(update, [rng.choice(KEPT), rng.choice(STATUSES),
                                                 rng.randint(*self.ids)])
                    else:
                        session.execute(read, [rng.randint(*self.ids)]).fetchall()
                except Exception as exc:  # counted and shown: a writer must never fail
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                self.timings.append((started, time.perf_counter() - started))


@dataclass
class Outcome:
    mode: str
    seconds: float
    stall: float
    p99: float
    p99_before: float
    statements: int
    rate: float
    errors: list[str]
    lock_held: float
    lock_mode: str | None
    wal_bytes: int
    longest_wait: tuple[float, str, str]
    steps: list[tuple[str, float]]
    heap_before: int
    heap_after: int
    total_before: int
    total_after: int
    notes: list[str] = field(default_factory=list)


def _sizes(cursor, oid: int) -> tuple[int, int]:
    cursor.execute("SELECT pg_relation_size(%s), pg_total_relation_size(%s)", [oid, oid])
    return cursor.fetchone()


def run_swap(mode: str, base: str, copy: str, writers: int, batch: int | None) -> Outcome:
    """Copy ``base``, start the writers, remove the value with ``ENUM_SWAP=mode``, measure."""
    from django.conf import settings
    from django.db import connection
    from django.db.migrations.migration import Migration
    from django.db.migrations.state import ProjectState

    from betintel.enums.operations import DeprecateEnumValue, RemoveEnumValue

    print(f"\n[{mode}] copying {base} to {copy} ...", flush=True)
    copy_database(base, copy)
    settings.DATABASES["default"]["NAME"] = copy
    connection.settings_dict["NAME"] = copy
    connection.close()

    def apply(operation, atomic: bool) -> None:
        migration = Migration("0001_bench_online", "bench")
        migration.operations = [operation]
        migration.atomic = atomic
        with connection.schema_editor(atomic=atomic) as editor:
            migration.apply(ProjectState(), editor)

    apply(DeprecateEnumValue(TYPE, REMOVED, REPLACEMENT), atomic=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'bets_bet'::regclass::oid, min(id), max(id), count(*) "
                       "FROM bets_bet")
        oid, low, high, rows = cursor.fetchone()
        cursor.execute("CHECKPOINT")
        heap_before, total_before = _sizes(cursor, oid)

    settings.ENUM_SWAP = mode
    settings.ENUM_ONLINE_MIN_ROWS = 0
    if batch:
        settings.ENUM_BACKFILL_BATCH = batch
    stop = threading.Event()
    threads = [Writer(number, (low, high), stop) for number in range(writers)]
    sampler = LockSampler(oid, stop)
    for thread in [*threads, sampler]:
        thread.start()
    time.sleep(SETTLE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (lsn_before,) = cursor.fetchone()
    print(f"[{mode}] removing {REMOVED!r} from {TYPE} on {rows:,} bets, "
          f"{writers} writers running ...", flush=True)
    started = time.perf_counter()
    apply(RemoveEnumValue(TYPE, REMOVED, REPLACEMENT), atomic=False)
    ended = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [lsn_before])
        (wal,) = cursor.fetchone()
    time.sleep(SETTLE_SECONDS)
    stop.set()
    for thread in [*threads, sampler]:
        thread.join()

    with connection.cursor() as cursor:
        heap_after, total_after = _sizes(cursor, oid)
        cursor.execute("SELECT count(*) FROM bets_bet")
        (after_rows,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_enum WHERE enumtypid = %s::regtype "
                       "AND enumlabel = %s", [TYPE, REMOVED])
        (left,) = cursor.fetchone()
    inserted = sum(thread.inserted for thread in threads)
    notes = []
    if after_rows != rows + inserted:
        notes.append(f"row count {after_rows:,} != {rows:,} + {inserted:,} inserted")
    if left:
        notes.append(f"{REMOVED!r} is still a value of {TYPE}")

    timings = [timing for thread in threads for timing in thread.timings]
    # A statement counts for the swap if it ran at any moment between its start and its end.
    during = [seconds for start, seconds in timings
              if start < ended and start + seconds > started]
    before = [seconds for start, seconds in timings if start + seconds <= started]
    completed = [seconds for start, seconds in timings
                 if started <= start + seconds <= ended]
    return Outcome(
        mode=mode, seconds=ended - started, stall=max(during, default=0.0),
        p99=percentile(during, 99), p99_before=percentile(before, 99),
        statements=len(completed), rate=len(completed) / (ended - started),
        errors=[error for thread in threads for error in thread.errors],
        lock_held=sampler.longest, lock_mode=sampler.longest_mode, wal_bytes=int(wal),
        longest_wait=sampler.longest_wait,
        steps=[(step, seen - started) for step, seen in sampler.steps]
        + [("done", ended - started)],
        heap_before=heap_before, heap_after=heap_after, total_before=total_before,
        total_after=total_after, notes=notes,
    )


def report(rows: int, writers: int, outcomes: list[Outcome], version: str) -> None:
    lines = [
        ("longest writer stall", lambda o: ms(o.stall)),
        ("p99 writer latency, during", lambda o: ms(o.p99)),
        ("p99 writer latency, before", lambda o: ms(o.p99_before)),
        ("writer statements completed", lambda o: f"{o.statements:,}"),
        ("writer statements per second", lambda o: f"{o.rate:,.0f}"),
        ("writer errors", lambda o: str(len(o.errors))),
        ("total duration", lambda o: f"{o.seconds:,.2f} s"),
        ("longest writer-blocking lock", lambda o: (
            f"{ms(o.lock_held)} ({o.lock_mode})" if o.lock_mode else "none seen (< 10 ms)")),
        ("WAL generated (writers too)", lambda o: mb(o.wal_bytes)),
        ("table heap before / after", lambda o: f"{mb(o.heap_before)} / {mb(o.heap_after)}"),
        ("with indexes before / after", lambda o: (
            f"{mb(o.total_before)} / {mb(o.total_after)}")),
    ]
    width = max(len(label) for label, _ in lines)
    print(f"\nRemoving {REMOVED!r} from {TYPE} on {rows:,} bets, {writers} writer threads, "
          f"PostgreSQL {version}")
    print(f"  {''.ljust(width)}  " + "  ".join(f"{o.mode:>26}" for o in outcomes))
    for label, show in lines:
        print(f"  {label.ljust(width)}  " + "  ".join(f"{show(o):>26}" for o in outcomes))
    for outcome in outcomes:
        for error in sorted(set(outcome.errors))[:5]:
            print(f"  {outcome.mode} writer error: {error}")
        seconds, waiting, blocker = outcome.longest_wait
        if seconds:
            print(f"  {outcome.mode}: longest lock wait seen {ms(seconds)}: {waiting} "
                  f"behind {blocker}")
        if len(outcome.steps) > 1:
            print(f"  {outcome.mode} steps (s from start): " + ", ".join(
                f"{step} {seen:.1f}" for step, seen in outcome.steps))
        for note in outcome.notes:
            print(f"  {outcome.mode}: {note}")
    by_mode = {outcome.mode: outcome for outcome in outcomes}
    if {"blocking", "online"} <= set(by_mode):
        online, blocking = by_mode["online"], by_mode["blocking"]
        print(f"\n  goal: longest writer stall online <= 100 ms: {ms(online.stall)} "
              f"({'met' if online.stall <= 0.1 else 'not met'})")
        ratio = online.seconds / blocking.seconds
        print(f"  goal: online total <= 3x blocking: {ratio:.2f}x "
              f"({'met' if ratio <= 3 else 'not met'})")


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.set_defaults(database_name="betintel_bench_online")
    parser.add_argument("--writers", type=int, default=4, help="writer threads (default 4)")
    parser.add_argument("--batch", type=int, default=None,
                        help="ENUM_BACKFILL_BATCH for the online swap (default: the setting's)")
    parser.add_argument("--modes", default="blocking,online",
                        help="swaps to run, in order (default: %(default)s)")
    options = parser.parse_args()
    base = options.database_name
    copy = f"{base}_run"
    setup_django(base)
    ensure_bets(options.bets)

    import logging

    from django.db import connection

    # The swaps' plans are for people running migrate, not for the figures.
    logging.getLogger("betintel").setLevel(logging.WARNING)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
    started = time.perf_counter()
    outcomes = []
    try:
        for mode in options.modes.split(","):
            outcomes.append(run_swap(mode, base, copy, options.writers, options.batch))
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(copy)
    report(options.bets, options.writers, outcomes, version)
    print(f"\n(the measured part took {time.perf_counter() - started:,.0f} s)")
    if options.drop:
        connection.settings_dict["NAME"] = base
        drop_database(base)


if __name__ == "__main__":
    main()
