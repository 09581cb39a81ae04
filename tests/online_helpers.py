"""What the online swap's and the online conversion's real-process tests share: a copy of
``enumapp``'s migrations to add a migration to, the ``manage.py migrate`` processes run on it,
writer threads with sessions of their own, polling, and the probe for leftovers.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.helpers import unique_name
from tests.processes import ROOT, manage_env, second_session

REAL_MIGRATIONS = Path(__file__).parent / "enumapp" / "migrations"
#: How long a test waits for something it expects to happen before failing.
PATIENCE = 120.0

#: Every kind of object a swap creates, and where its name is; none may be left afterwards.
LEFTOVER_QUERIES = {
    "column": "SELECT attrelid::regclass || '.' || attname FROM pg_attribute "
              "WHERE attname LIKE 'betintel\\_%' AND NOT attisdropped",
    "trigger": "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'betintel\\_%'",
    "function": "SELECT proname FROM pg_proc WHERE proname LIKE 'betintel\\_%'",
    "type": "SELECT typname FROM pg_type WHERE typname LIKE 'betintel\\_%' "
            "OR typname LIKE '\\_betintel\\_%'",
    "relation": "SELECT relname FROM pg_class WHERE relname LIKE 'betintel\\_%'",
    "constraint": "SELECT conname FROM pg_constraint WHERE conname LIKE 'betintel\\_%'",
}


def wait_for(predicate: Callable[[], object], what: str, timeout: float = PATIENCE,
             interval: float = 0.005):
    """Poll ``predicate`` until it returns something true; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up waiting for {what}.")
        time.sleep(interval)


def leftovers() -> dict[str, list[str]]:
    """Everything named ``betintel_%`` in the database, by kind; empty after a swap."""
    left = {}
    with second_session() as session:
        for kind, query in LEFTOVER_QUERIES.items():
            names = [str(name) for (name,) in session.execute(query).fetchall()]
            if names:
                left[kind] = names
    return left


class MigrationCopy:
    """A copy of ``enumapp``'s migrations under ``tmp_path``, named ``MIGRATION_MODULES`` for
    ``enumapp``, for a test to add migrations to; the ``manage.py migrate`` processes run on it
    share one ``application_name``, so their backends can be found and ended."""

    def __init__(self, tmp_path: Path, settings, prefix: str, application: str) -> None:
        self.application = f"{application}-{uuid.uuid4().hex[:12]}"
        self.processes: list[subprocess.Popen] = []
        self.real_leaf = MigrationLoader(
            None, ignore_no_migrations=True).graph.leaf_nodes("enumapp")[0][1]
        self.package = unique_name(prefix)
        self.folder = tmp_path / self.package
        shutil.copytree(REAL_MIGRATIONS, self.folder, ignore=shutil.ignore_patterns("__pyc*"))
        if str(tmp_path) not in sys.path:
            sys.path.insert(0, str(tmp_path))
        self.tmp_path = tmp_path
        settings.MIGRATION_MODULES = {"enumapp": self.package}

    def settings(self, **overrides) -> dict:
        """The settings of a ``manage.py`` process on the copy."""
        raise NotImplementedError

    def spawn_migrate_to(self, target: str, **overrides) -> subprocess.Popen:
        """Start ``manage.py migrate enumapp <target>`` in a process of its own."""
        process = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "enumapp", target],
            cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=manage_env(self.settings(**overrides), [self.tmp_path],
                           PGAPPNAME=self.application),
        )
        self.processes.append(process)
        return process

    def stop_processes(self) -> None:
        """Kill our processes still running, and end their backends."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate()
        with second_session() as session:
            session.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = %s", [self.application])


def writer_session() -> psycopg.Connection:
    """An application's session: autocommit, statements not prepared server-side (as under
    Django), and a statement timeout as a safety net against a writer stuck for good."""
    params = connection.get_connection_params()
    wanted = {"host", "port", "user", "password", "dbname"}
    session = psycopg.connect(autocommit=True, prepare_threshold=None,
                              **{k: v for k, v in params.items() if k in wanted})
    session.execute("SET statement_timeout = '60s'")
    return session


class WriterThread(threading.Thread):
    """One application session writing its own share of ``rows`` initial rows until told to
    stop; ``loop`` does the writing, and any exception is kept in ``failures``."""

    def __init__(self, number: int, writers: int, rows: int, stop: threading.Event) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.number, self.writers, self.rows, self.stop = number, writers, rows, stop
        self.rng = random.Random(number)
        self.wrote: dict = {}
        self.failures: list[str] = []
        self.statements = 0

    def run(self) -> None:
        try:
            self.loop()
        except Exception as exc:  # reported by the test through ``failures``
            self.failures.append(f"{type(exc).__name__}: {exc}")

    def loop(self) -> None:
        raise NotImplementedError

    def own_row(self) -> int:
        """A row only this writer writes: an initial row of its share, or one it inserted."""
        if self.wrote and self.rng.random() < 0.3:
            return self.rng.choice(list(self.wrote))
        row_id = self.rng.randint(1, self.rows)
        row_id -= row_id % self.writers - self.number
        return row_id if 1 <= row_id <= self.rows else self.number or self.writers


def start_writers(writers: list[WriterThread], statements: int) -> None:
    """Start ``writers`` and wait until each has run ``statements`` statements."""
    for writer in writers:
        writer.start()
    wait_for(lambda: all(writer.statements >= statements for writer in writers),
             "the writers to start")


def stop_writers(writers: list[WriterThread], stop: threading.Event,
                 timeout: float = PATIENCE) -> None:
    """Tell ``writers`` to stop, and wait for each to end."""
    stop.set()
    for writer in writers:
        writer.join(timeout=timeout)
