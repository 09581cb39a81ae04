"""``pip install <this repository>`` installs the enum engine only, with its templates and
runtime dependencies (SPEC §11)."""

from __future__ import annotations

import zipfile
from email.parser import Parser

from packaging.requirements import Requirement

from tests.wheel import ROOT


def wheel_files(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def test_wheel__holds_every_engine_module_and_template(engine_wheel):
    files = set(wheel_files(engine_wheel))
    engine = {
        path.relative_to(ROOT).as_posix()
        for pattern in ("*.py", "*.html")
        for path in (ROOT / "betintel" / "enums").rglob(pattern)
    }

    assert engine - files == set()
    assert "betintel/enums/templates/admin/enums/status.html" in files
    assert "betintel/enums/management/commands/makemigrations.py" in files


def test_wheel__leaves_out_the_site_audit_bets_and_tests(engine_wheel):
    files = wheel_files(engine_wheel)
    outside_engine = [
        name for name in files
        if not name.startswith("betintel/enums/") and ".dist-info/" not in name
    ]

    assert outside_engine == []
    assert "betintel/settings.py" not in files and "betintel/urls.py" not in files
    assert not any(name.startswith(("audit/", "bets/", "tests/", "templates/")) for name in files)
    assert not any("/migrations/" in name or "embedded_db" in name for name in files)


def test_wheel__requires_the_runtime_dependencies_only(engine_wheel):
    metadata = wheel_metadata(engine_wheel)
    required = {Requirement(line).name.lower() for line in metadata.get_all("Requires-Dist")}

    assert required == {"django", "psycopg", "pglast", "tqdm"}
    assert metadata["Name"] == "betintel-enums"
