"""With no DATABASE_URL the project gets a working embedded PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_embedded_server__cannot_start__clear_error_names_the_log(tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from betintel.embedded_db.server import ensure_server

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    try:
        ensure_server(blocker / "pgdata")
    except ImproperlyConfigured as exc:
        message = str(exc)
    else:  # pragma: no cover - would mean a server started inside a file
        raise AssertionError("the embedded server should not start here")
    assert "could not start" in message
    assert "log" in message and "DATABASE_URL" in message
