"""Working in a database of its own (the ``empty_database`` fixture of ``conftest``).

For tests that migrate from nothing with real ``manage.py`` processes, without disturbing the
test database the rest of the suite uses.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence

import psycopg
from django.db import connection

from tests.processes import ROOT, manage_env


def manage_in(
    database: str, *args: str, settings: Mapping[str, object] | None = None,
    pythonpath: Sequence = (),
) -> subprocess.CompletedProcess:
    """Run ``manage.py args`` to its end, as its own process, against ``database``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, text=True, capture_output=True,
        timeout=300, env=manage_env(settings, pythonpath, BETINTEL_TEST_DATABASE=database),
    )


def session_in(database: str) -> psycopg.Connection:
    """A session of its own (autocommit) on ``database``, on the test server."""
    wanted = {"host", "port", "user", "password"}
    params = {k: v for k, v in connection.get_connection_params().items() if k in wanted}
    return psycopg.connect(dbname=database, autocommit=True, **params)


def query(database: str, statement: str, params: Sequence | None = None) -> list[tuple]:
    """The rows of ``statement`` run in ``database`` by a session of its own."""
    with session_in(database) as session:
        return session.execute(statement, params).fetchall()
