"""What the benchmarks share: a dedicated database, tables of N rows, timing and the report.

The migration benchmarks never touch the project's own database: they create
``betintel_bench_migrations`` on the same server (the embedded one, or ``DATABASE_URL``'s),
point Django at it, and drop it at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betintel.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.migration import Migration  # noqa: E402
from django.db.migrations.state import ProjectState  # noqa: E402
from psycopg import sql  # noqa: E402

BENCH_DATABASE = "betintel_bench_migrations"

# The swap's rewrite plan is for people running migrate, not for the figures.
logging.getLogger("betintel").setLevel(logging.WARNING)


def _admin_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    wanted = {"user", "password", "host", "port"}
    conninfo = {key: value for key, value in params.items() if key in wanted}
    return psycopg.connect(dbname="postgres", autocommit=True, **conninfo)


@contextlib.contextmanager
def bench_database():
    """Create ``BENCH_DATABASE``, point the default connection at it, drop it afterwards."""
    connection.ensure_connection()
    with _admin_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(BENCH_DATABASE)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))
    connection.close()
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = BENCH_DATABASE
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        with _admin_connection() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(BENCH_DATABASE))
            )


def execute(statement: str | sql.Composable, *identifiers: str) -> None:
    """Run ``statement`` with ``{}`` filled by quoted identifiers (autocommit)."""
    if isinstance(statement, str):
        statement = sql.SQL(statement).format(*(sql.Identifier(name) for name in identifiers))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def make_table(type_name: str, table: str, rows: int, columns: tuple[str, ...] = ("kind",)):
    """A betting-like table: id, the enum columns (indexed), a stake and a timestamp."""
    execute("CREATE TYPE {} AS ENUM ('h2h', 'spreads', 'totals', 'corners')", type_name)
    enum_type = sql.Identifier(type_name)
    definitions = sql.SQL(", ").join(
        sql.SQL("{} {} NOT NULL").format(sql.Identifier(column), enum_type) for column in columns
    )
    execute(sql.SQL(
        "CREATE TABLE {} (id bigserial PRIMARY KEY, {}, stake numeric(12, 2) NOT NULL, "
        "placed_at timestamptz NOT NULL DEFAULT now())"
    ).format(sql.Identifier(table), definitions))
    # Each column cycles through the four values, shifted by its position.
    values = sql.SQL(", ").join(
        sql.SQL("(ARRAY['h2h','spreads','totals','corners'])[1 + (n + {}) % 4]::{}").format(
            sql.Literal(offset), enum_type
        )
        for offset in range(len(columns))
    )
    execute(sql.SQL(
        "INSERT INTO {} ({}, stake) SELECT {}, (n % 500) + 0.5 FROM generate_series(1, {}) n"
    ).format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        values,
        sql.Literal(int(rows)),
    ))
    for column in columns:
        execute("CREATE INDEX ON {} ({})", table, column)
    execute("VACUUM ANALYZE {}", table)
    # Flush the load's dirty pages now, so no checkpoint lands inside a timed run.
    execute("CHECKPOINT")


def relfilenode(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_filenode(%s::regclass)", [table])
        return cursor.fetchone()[0]


def apply(*operations) -> None:
    """Apply enum operations as one atomic migration, as ``migrate`` would."""
    migration = Migration("0001_bench", "bench")
    migration.operations = list(operations)
    with connection.schema_editor(atomic=True) as editor:
        migration.apply(ProjectState(), editor)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(approaches: dict[str, tuple[Callable, Callable]], repeat: int
                ) -> dict[str, float]:
    """Median seconds of each approach's ``action(run)``, each run after its untimed
    ``prepare(run)``. Runs alternate between approaches, so background noise (autovacuum,
    the page cache) falls on all of them alike."""
    times: dict[str, list[float]] = {label: [] for label in approaches}
    for run in range(repeat):
        for label, (prepare, action) in approaches.items():
            prepare(run)
            times[label].append(timed(lambda action=action, run=run: action(run)))
    return {label: statistics.median(values) for label, values in times.items()}


def server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0].split()[0]


def report(title: str, rows: list[tuple[str, float]], baseline: str) -> None:
    """Print ``rows`` (label, seconds) with each one's ratio to the ``baseline`` row."""
    base = dict(rows)[baseline]
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print(f"  {'approach'.ljust(width)}  {'time':>11}  {'ratio':>9}")
    for label, seconds in rows:
        print(f"  {label.ljust(width)}  {_ms(seconds):>11}  {seconds / base:>8.2f}x")
    print(f"  (ratio: time / time of '{baseline}')")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"
