"""Real second sessions and real ``manage.py`` processes against the current test database.

Concurrency is shown with these, never simulated: a psycopg connection of its own is another
backend, and a ``manage.py`` subprocess can be killed (SIGKILL included) mid-migration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import psycopg
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def second_session(autocommit: bool = True) -> psycopg.Connection:
    """A new backend on the test database, outside Django's connection handling."""
    params = connection.get_connection_params()
    wanted = {"host", "port", "user", "password", "dbname"}
    return psycopg.connect(
        autocommit=autocommit, **{key: value for key, value in params.items() if key in wanted}
    )


def manage_env(
    settings: Mapping[str, object] | None = None, pythonpath: Sequence[str | os.PathLike] = (),
    **environ: str,
) -> dict[str, str]:
    """The environment of a ``manage.py`` process that uses the current test database.

    ``settings`` (JSON-serialisable) override settings in that process, e.g.
    ``{"MIGRATION_MODULES": {...}, "ENUM_SWAP": "online"}``; ``pythonpath`` lets it import
    migration packages written to a temporary folder.
    """
    connection.ensure_connection()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.subprocess_settings",
        # The process runs with the suite's own settings (the site's, or the engine's alone),
        # as pytest-django named them; a test's overrides hide the name from django.conf.
        "BETINTEL_TEST_BASE_SETTINGS": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        "BETINTEL_TEST_DATABASE": connection.settings_dict["NAME"],
        "BETINTEL_TEST_SETTINGS": json.dumps(dict(settings or {})),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *(str(path) for path in pythonpath), os.environ.get("PYTHONPATH", "")]
        ),
        **environ,
    }
    return env


def spawn_manage(
    *args: str, settings: Mapping[str, object] | None = None,
    pythonpath: Sequence[str | os.PathLike] = (), **popen_kwargs,
) -> subprocess.Popen:
    """Start ``manage.py args`` in its own process (stdout and stderr captured as text)."""
    popen_kwargs.setdefault("stdout", subprocess.PIPE)
    popen_kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, text=True,
        env=manage_env(settings, pythonpath), **popen_kwargs,
    )


def run_manage(
    *args: str, settings: Mapping[str, object] | None = None,
    pythonpath: Sequence[str | os.PathLike] = (), timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``manage.py args`` to its end in its own process; the result holds the output."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, text=True, capture_output=True,
        env=manage_env(settings, pythonpath), timeout=timeout,
    )
