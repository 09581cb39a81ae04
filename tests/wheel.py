"""Build the engine's wheel (``pip wheel`` of a copy of this repository) for packaging tests."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import setuptools

ROOT = Path(__file__).resolve().parent.parent
# Left out of the copy: local state of this working copy, never part of a build.
NOT_SOURCES = (
    ".git", ".pgdata*", ".venv", "venv", "build", "*.egg-info", "__pycache__", ".hypothesis",
    ".ruff_cache", ".pytest_cache", "staticfiles", "artifacts",
)


def _builds_without_isolation() -> bool:
    """Whether this Python's setuptools can build a wheel itself (its own ``bdist_wheel`` from
    70.1 on, or the ``wheel`` package); otherwise pip fetches a build environment."""
    version = tuple(int(part) for part in setuptools.__version__.split(".")[:2])
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def build_engine_wheel(directory: Path) -> Path:
    """The wheel ``pip install <this repository>`` would install, built into ``directory``.

    Built from a copy, so the build's scratch folders stay out of the working copy.
    """
    source = directory / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    isolation = ["--no-build-isolation"] if _builds_without_isolation() else []
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", *isolation, "--wheel-dir", str(directory), str(source)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    (wheel,) = directory.glob("*.whl")
    return wheel
