"""A Chromium for the browser test, found on the machine or installed on first need.

The README's test command must pass on a machine with nothing but Python, so the suite gets
the browser itself: Debian's ``chromium`` where it may install packages (root with apt-get),
Playwright's own download elsewhere. Runs at the same time (several working copies, CI beside
a developer) take turns through a lock, so one installs and the others find it installed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "betintel-chromium-install.lock"
# Generous: a first apt-get run downloads the package lists and about 100 MB of Chromium.
INSTALL_TIMEOUT = 900


class ChromiumUnavailable(Exception):
    """Neither a Chromium on the machine nor one of the installs gave a browser."""


def find_chromium() -> str | None:
    """The path of an installed Chromium: the system's, else Playwright's own download."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return playwright_chromium()


def playwright_chromium() -> str | None:
    """Playwright's own Chromium if ``playwright install chromium`` has put it in place."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if path and Path(path).is_file() else None


def ensure_chromium() -> str:
    """Return a Chromium, installing one when the machine has none (once, under a lock)."""
    found = find_chromium()
    if found:
        return found
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find_chromium()  # another run may have installed it while we waited
        if found:
            return found
        failures = []
        for install in (_install_with_apt, _install_with_playwright):
            failure = install()
            found = find_chromium()
            if found:
                return found
            failures.append(failure)
    raise ChromiumUnavailable(
        "The browser test needs Chromium and none could be installed:\n"
        + "\n".join(f"- {failure}" for failure in failures)
        + "\nInstall Chromium (`apt-get install chromium`, or `python -m playwright install "
        "--with-deps chromium`), or make either command work here, then run the tests again."
    )


def _install_with_apt() -> str:
    """Install Debian's chromium package; what went wrong, if anything."""
    if shutil.which("apt-get") is None:
        return "apt-get: not available on this machine."
    if os.geteuid() != 0:
        return "apt-get: installing packages needs root, and the tests do not run as root."
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for the package manager's own lock rather than fail when something else holds it.
    wait = ["-o", "DPkg::Lock::Timeout=300"]
    for command in (
        ["apt-get", *wait, "update", "-qq"],
        ["apt-get", *wait, "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ):
        failure = _run(command, env)
        if failure:
            return failure
    return "apt-get install chromium: succeeded, but no chromium program is on PATH."


def _install_with_playwright() -> str:
    """Install Playwright's own Chromium download; what went wrong, if anything."""
    command = [sys.executable, "-m", "playwright", "install", "chromium"]
    return _run(command, dict(os.environ)) or (
        "playwright install chromium: succeeded, but Playwright does not find the browser."
    )


def _run(command: list[str], env: dict[str, str]) -> str:
    """Run an install step; an empty string if it worked, else what it said last."""
    shown = " ".join(command)
    try:
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{shown}: {exc}"
    if result.returncode == 0:
        return ""
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines()]
    # apt-get says "E: …", Playwright "Error: …"; the first such line names the cause.
    errors = [line for line in lines if line.startswith(("E:", "Error:"))]
    said = errors[0] if errors else next((line for line in reversed(lines) if line), "")
    return f"{shown}: exit status {result.returncode}: {said}"
