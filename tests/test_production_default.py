"""Production is the default (SPEC §2): without DEBUG=1 a real SECRET_KEY is needed to serve.

Real processes with the project's own settings (``tests.site_settings``: nothing from the test
settings, the test database) and an environment with neither ``DEBUG`` nor ``SECRET_KEY``.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from betintel.settings import DEVELOPMENT_SECRET_KEY
from tests.processes import ROOT, manage_env

pytestmark = pytest.mark.django_db

REAL_KEY = "a-real-secret-key-" + "Vq3Lr8Tz1Np6Ws0Yb4Hc9Kf2Jd7Mg5Xe"


def site_env(**environ: str) -> dict[str, str]:
    """The environment of a process started with nothing set, plus ``environ``."""
    env = manage_env(DJANGO_SETTINGS_MODULE="tests.site_settings")
    for name in ("DEBUG", "SECRET_KEY"):
        env.pop(name, None)
    return {**env, **environ}


def run_site(args: list[str], **environ: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, text=True, capture_output=True,
        env=site_env(**environ), timeout=300,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_runserver__debug_unset_and_no_secret_key__refuses_naming_secret_key():
    result = run_site(["manage.py", "runserver", "--noreload", f"127.0.0.1:{free_port()}"])

    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr
    assert "DEBUG=1" in result.stderr
    assert "Starting development server" not in result.stdout


@pytest.mark.parametrize("module", ["betintel.wsgi", "betintel.asgi"])
def test_application__debug_unset_and_no_secret_key__refuses_naming_secret_key(module):
    result = run_site(["-c", f"import {module}"])

    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr
    assert "DEBUG=1" in result.stderr


@pytest.mark.parametrize("module", ["betintel.wsgi", "betintel.asgi"])
def test_application__development_key_with_debug_off__refused(module):
    result = run_site(["-c", f"import {module}"], SECRET_KEY=DEVELOPMENT_SECRET_KEY)

    assert result.returncode != 0
    assert "SECRET_KEY is a development key" in result.stderr


@pytest.mark.parametrize("module", ["betintel.wsgi", "betintel.asgi"])
def test_application__real_secret_key__loads_in_production_mode(module):
    check = f"import {module}; from django.conf import settings; print(settings.DEBUG)"

    result = run_site(["-c", check], SECRET_KEY=REAL_KEY)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_commands_that_serve_nothing__nothing_set__still_run():
    checked = run_site(["manage.py", "check"])
    detected = run_site(["manage.py", "makemigrations", "--check", "--dry-run"])

    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout
    assert detected.returncode == 0, detected.stdout + detected.stderr


@pytest.mark.parametrize(
    "environ", [{"DEBUG": "1"}, {"SECRET_KEY": DEVELOPMENT_SECRET_KEY}, {}],
    ids=["development-mode", "development-key-in-production", "no-key"],
)
def test_check_deploy__development_or_missing_key__flagged(environ):
    result = run_site(["manage.py", "check", "--deploy"], **environ)

    assert "security.W009" in result.stdout + result.stderr


def test_check_deploy__real_key__not_flagged():
    result = run_site(["manage.py", "check", "--deploy"], SECRET_KEY=REAL_KEY)

    assert "security.W009" not in result.stdout + result.stderr


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def _wait_for_page(server: subprocess.Popen, url: str) -> tuple[int, str]:
    """The first answer of the server at ``url``; fails if the server exits first."""
    for _attempt in range(600):
        if server.poll() is not None:
            pytest.fail(f"runserver exited with {server.returncode}: {server.stderr.read()}")
        try:
            return _get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"runserver never answered {url}")


def test_runserver__development_mode__serves_a_styled_admin():
    base = f"http://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", base.removeprefix("http://")],
        cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=site_env(DEBUG="1"),
    )
    try:
        status, page = _wait_for_page(server, f"{base}/admin/login/")
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+\.css)"', page)
        styles = [_get(f"{base}{href}") for href in stylesheets]
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert status == 200
    assert "/static/admin/css/base.css" in stylesheets
    assert [code for code, _css in styles] == [200] * len(stylesheets)
    assert all(css.strip() for _code, css in styles)


def test_migrate__nothing_set__stops_before_applying_naming_the_audit_key():
    result = run_site(["manage.py", "migrate", "--plan"])

    assert result.returncode != 0
    assert "audit.E002" in result.stderr
    assert "AUDIT_HMAC_KEY" in result.stderr and "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Planned operations" not in result.stdout


def test_migrate__real_secret_key__passes_the_audit_key_check():
    result = run_site(["manage.py", "migrate", "--plan"], SECRET_KEY=REAL_KEY)

    assert result.returncode == 0, result.stderr
    assert "audit.E002" not in result.stderr
