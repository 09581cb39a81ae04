"""What the benchmarks share: a dedicated database filled with millions of bets, and timing.

The benchmarks never touch the development database: they work in their own database
(``betintel_bench`` unless told otherwise) on the same server, created, migrated and filled
on first use and kept for the next run; ``--drop`` removes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTECTED = {"betintel", "postgres", "template0", "template1"}

# Share of each bet type in the generated rows (cumulative upper bounds of random()).
BET_TYPE_SHARES = [
    ("h2h", 0.38), ("spreads", 0.62), ("totals", 0.82), ("player_points", 0.95),
    ("player_assists", 0.955), ("player_rebounds", 1.0),
]


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bets", type=int, default=10_000_000,
                        help="Rows in bets_bet (default: %(default)s).")
    parser.add_argument("--database-name", default="betintel_bench",
                        help="The dedicated database to fill (default: %(default)s).")
    parser.add_argument("--repeat", type=int, default=7,
                        help="Timed runs per measurement; the median is reported.")
    parser.add_argument("--drop", action="store_true",
                        help="Drop the benchmark database at the end.")
    return parser


def setup_django(database_name: str) -> None:
    """Start Django on ``database_name`` of the configured server, creating it if needed."""
    if database_name in PROTECTED:
        sys.exit(f"Refusing to benchmark in database {database_name!r}; pick a dedicated name.")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betintel.settings")
    # Benchmarks are development tooling: the development key signs their audit entries.
    os.environ.setdefault("DEBUG", "1")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = database_name
    settings.DEBUG = False  # no query log growing through millions of timings
    import django

    django.setup()
    _create_database(database_name)


def _maintenance_connection():
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


def _create_database(name: str) -> None:
    from psycopg import sql

    with _maintenance_connection() as maintenance:
        exists = maintenance.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def copy_database(source: str, target: str) -> None:
    """``target`` as a fresh copy of ``source`` (dropped first if it exists), file by file.

    Nobody may be connected to ``source`` meanwhile: Django's connections are closed, and a
    copy refused because autovacuum was visiting is tried again.
    """
    import psycopg
    from django.db import connections
    from psycopg import sql

    if target in PROTECTED:
        sys.exit(f"Refusing to overwrite database {target!r}.")
    connections.close_all()
    with _maintenance_connection() as maintenance:
        maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(target)))
        for attempt in range(50):
            try:
                maintenance.execute(sql.SQL(
                    "CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY"
                ).format(sql.Identifier(target), sql.Identifier(source)))
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.2)


def drop_database(name: str) -> None:
    """Drop the benchmark database (never one of the protected ones)."""
    from django.db import connections
    from psycopg import sql

    if name in PROTECTED:
        return
    with _maintenance_connection() as maintenance:
        connections.close_all()
        maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)
        ))
    print(f"Dropped database {name}.")


def ensure_bets(number: int) -> None:
    """Migrate, and fill ``bets_bet`` with exactly ``number`` rows unless it has them."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bets_bet")
        present = cursor.fetchone()[0]
    if present == number:
        print(f"bets_bet already holds {number:,} rows; reusing them.")
        return
    fill_bets(number)


_FILL_SQL = """
INSERT INTO bets_bet (sport, bet_type, status, selection, odds, stake, placed_at)
SELECT (ARRAY['soccer', 'basketball', 'american_football', 'baseball', 'ice_hockey',
              'tennis'])[1 + mod(i, 6)]::sport_enum,
       (CASE WHEN r < %s THEN 'h2h' WHEN r < %s THEN 'spreads' WHEN r < %s THEN 'totals'
             WHEN r < %s THEN 'player_points' WHEN r < %s THEN 'player_assists'
             ELSE 'player_rebounds' END)::bet_type_enum,
       (ARRAY['pending', 'won', 'lost', 'void'])[1 + mod(i, 4)]::bet_status_enum,
       'Selection ' || i, 1.5 + mod(i, 100) / 50.0, 10 + mod(i, 90),
       now() - make_interval(secs => i)
FROM (SELECT i, random() AS r FROM generate_series(%s::bigint, %s::bigint) AS i) AS s
"""


def fill_bets(number: int, chunk: int = 1_000_000) -> None:
    """Replace the rows of ``bets_bet`` with ``number`` generated bets, then VACUUM ANALYZE."""
    from django.db import connection, transaction

    started = time.perf_counter()
    bounds = [share for _, share in BET_TYPE_SHARES[:-1]]
    # One transaction: a failure must not leave the table without its indexes.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE bets_bet")
        # Building the secondary indexes once at the end is much faster than row by row.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'bets_bet' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'bets_bet'::regclass)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(_drop_index(name, connection))
        cursor.execute("SET LOCAL synchronous_commit = off")
        for low in range(1, number + 1, chunk):
            high = min(low + chunk - 1, number)
            cursor.execute(_FILL_SQL, [*bounds, low, high])
            print(f"  filled {high:,} of {number:,} bets ({time.perf_counter() - started:.0f}s)",
                  flush=True)
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE bets_bet")
    print(f"Filled bets_bet with {number:,} rows in {time.perf_counter() - started:.0f}s.")


def _drop_index(name: str, connection) -> str:
    from psycopg import sql

    return sql.SQL("DROP INDEX {}").format(sql.Identifier(name)).as_string(connection.connection)


def median_ms(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and minimum wall time of ``run()`` in milliseconds, after one warm-up run."""
    run()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), min(timings)


def print_table(title: str, rows: list[tuple[str, float, float]], baseline: str) -> None:
    """Timings side by side, each with its speed-up over ``baseline`` (>1 is faster)."""
    base = next(median for name, median, _ in rows if name == baseline)
    width = max(len(name) for name, _, _ in rows)
    print()
    print(title)
    print(f"  {'measurement'.ljust(width)}  {'median ms':>10}  {'min ms':>10}  "
          f"speed-up vs {baseline}")
    for name, median, fastest in rows:
        speed_up = base / median if median else float("inf")
        print(f"  {name.ljust(width)}  {median:10.2f}  {fastest:10.2f}  {speed_up:10.1f}x")


# Writers and what they saw ----------------------------------------------------------------

#: Table lock modes that make an INSERT/UPDATE (ROW EXCLUSIVE) wait.
BLOCKING_MODES = ["ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]
SAMPLE_SECONDS = 0.01


def connect(autocommit: bool = True):
    """A psycopg connection of its own to the database Django now points at."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    wanted = {"host", "port", "user", "password", "dbname"}
    return psycopg.connect(autocommit=autocommit, prepare_threshold=None,
                           **{key: value for key, value in params.items() if key in wanted})



class LockSampler(threading.Thread):
    """Samples ``pg_locks`` for granted locks on the table that block writers."""

    def __init__(self, table_oid: int, stop: threading.Event) -> None:
        super().__init__(name="lock-sampler", daemon=True)
        self.table_oid, self.stop = table_oid, stop
        self.longest = 0.0
        self.longest_mode = None
        self.samples = 0
        #: The longest wait for a lock seen in any other session: seconds, what, blocked by.
        self.longest_wait: tuple[float, str, str] = (0.0, "", "")
        #: Online swap steps as recorded in the new type's comment, with when each was seen.
        self.steps: list[tuple[str, float]] = []

    def run(self) -> None:
        held: dict[tuple[int, str], float] = {}
        with connect() as session:
            while not self.stop.is_set():
                now = time.perf_counter()
                seen = {
                    (pid, mode) for pid, mode in session.execute(
                        "SELECT pid, mode FROM pg_locks WHERE locktype = 'relation' "
                        "AND relation = %s AND granted AND mode = ANY(%s)",
                        [self.table_oid, BLOCKING_MODES]).fetchall()
                }
                self.samples += 1
                self._waits(session)
                self._step(session, now)
                for key in seen:
                    held.setdefault(key, now)
                for key in [key for key in held if key not in seen]:
                    self._ended(key, now - held.pop(key))
                time.sleep(SAMPLE_SECONDS)
            now = time.perf_counter()
            for key, since in held.items():
                self._ended(key, now - since)

    def _waits(self, session) -> None:
        row = session.execute(
            "SELECT extract(epoch FROM clock_timestamp() - w.query_start)::float8, "
            "left(w.query, 60) || ' (' || w.wait_event || ')', "
            "coalesce(format('pid %s %s, %s, transaction %s s old: %s', b.pid, b.state, "
            "coalesce(b.wait_event_type || '/' || b.wait_event, 'not waiting'), "
            "round(extract(epoch FROM clock_timestamp() - b.xact_start)::numeric, 1), "
            "left(b.query, 60)), '') FROM pg_stat_activity w "
            "LEFT JOIN pg_stat_activity b ON b.pid = (pg_blocking_pids(w.pid))[1] "
            "WHERE w.wait_event_type = 'Lock' AND w.datname = current_database() "
            "ORDER BY 1 DESC LIMIT 1").fetchone()
        if row and row[0] > self.longest_wait[0]:
            self.longest_wait = row

    def _step(self, session, now: float) -> None:
        # An online swap records its step on its new type, an online conversion on its
        # trigger's function.
        row = session.execute(
            "SELECT obj_description(oid, 'pg_type')::json #>> '{betintel,online_swap,step}' "
            "FROM pg_type WHERE typname LIKE 'betintel\\_new\\_%' AND typtype = 'e' "
            "UNION ALL SELECT obj_description(oid, 'pg_proc')::json "
            "#>> '{betintel,online_conversion,step}' FROM pg_proc "
            "WHERE proname LIKE 'betintel\\_conv\\_%'").fetchone()
        step = row[0] if row else None
        if step and (not self.steps or self.steps[-1][0] != step):
            self.steps.append((step, now))

    def _ended(self, key: tuple[int, str], seconds: float) -> None:
        if seconds > self.longest:
            self.longest, self.longest_mode = seconds, key[1]



def percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


def during(timings: list[tuple[float, float]], started: float, ended: float) -> dict:
    """Writer figures for the window ``started``..``ended`` from ``(start, seconds)`` timings:
    the longest statement and the p99 of those running at any moment of it, and how many
    completed in it."""
    running = [seconds for start, seconds in timings
               if start < ended and start + seconds > started]
    completed = [seconds for start, seconds in timings if started <= start + seconds <= ended]
    return {"stall": max(running, default=0.0), "p99": percentile(running, 99),
            "statements": len(completed)}
