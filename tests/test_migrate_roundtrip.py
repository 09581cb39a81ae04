"""The enum lifecycle through real ``migrate`` runs of ``tests.enumapp``.

Each test gives ``enumapp`` a temporary migration package under ``tmp_path``: a copy of its
real migrations plus the migrations under test, and migrates back to the real leaf afterwards.
What the operations announce (``signals.enum_changed``) is heard by a receiver of the test's
own that keeps an announcement once its transaction commits, as a listener writing records in
the migration's transaction would; the site's audit log is tested in ``test_site_integration``.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from betintel.enums.signals import enum_changed
from tests.helpers import catalog_snapshot, enum_labels, run_command, run_sql, unique_name
from tests.listenerapp.listener import record_on_commit

pytestmark = pytest.mark.django_db(transaction=True)

REAL_MIGRATIONS = Path(__file__).parent / "enumapp" / "migrations"

HEADER = """\
from django.db import migrations

import betintel.enums.operations as enum_ops


class Migration(migrations.Migration):
    dependencies = [("enumapp", "{previous}")]
    operations = [
        {operations}
    ]
"""

#: add -> rename -> rows -> deprecate -> remove: back where the models are (red, green, blue).
LIFECYCLE = [
    ("0901_add_purple",
     "enum_ops.AddEnumValue(name='colour_enum', value='purple', before='blue')"),
    ("0902_rename_purple_violet",
     "enum_ops.RenameEnumValue(name='colour_enum', old='purple', new='violet')"),
    ("0903_violet_swatches",
     "migrations.RunSQL(\"INSERT INTO enumapp_swatch (colour, name) VALUES ('violet', 'v1'), "
     "('violet', 'v2'), ('red', 'r1')\", "
     "\"DELETE FROM enumapp_swatch WHERE name IN ('v1', 'v2', 'r1')\")"),
    ("0904_deprecate_violet",
     "enum_ops.DeprecateEnumValue(name='colour_enum', value='violet', replacement='blue')"),
    ("0905_remove_violet",
     "enum_ops.RemoveEnumValue(name='colour_enum', value='violet', replacement='blue')"),
]
ENUM_MIGRATIONS = {"0901_add_purple": "purple", "0902_rename_purple_violet": "violet",
                   "0904_deprecate_violet": "violet", "0905_remove_violet": "violet"}


class MigrationPackage:
    """A temporary migration package for ``enumapp``: the real migrations, then ours."""

    def __init__(self, tmp_path: Path, settings) -> None:
        self.leaf = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("enumapp")
        self.real_leaf = self.leaf[0][1]
        self.name = unique_name("enumapp_migrations")
        self.folder = tmp_path / self.name
        shutil.copytree(REAL_MIGRATIONS, self.folder, ignore=shutil.ignore_patterns("__pyc*"))
        if str(tmp_path) not in sys.path:
            sys.path.insert(0, str(tmp_path))
        self.previous = self.real_leaf
        settings.MIGRATION_MODULES = {"enumapp": self.name}

    def add(self, name: str, *operations: str) -> None:
        """Write migration ``name`` holding ``operations`` (source text), after the last one."""
        body = HEADER.format(previous=self.previous, operations=",\n        ".join(operations))
        (self.folder / f"{name}.py").write_text(textwrap.dedent(body))
        self.previous = name


@pytest.fixture
def package(tmp_path, settings):
    package = MigrationPackage(tmp_path, settings)
    yield package
    call_command("migrate", "enumapp", package.real_leaf, verbosity=0)


#: What the operations announced, as ``record_on_commit`` keeps it, during the test.
_heard: list[dict] = []


@pytest.fixture(autouse=True)
def heard_changes():
    """Listen to ``enum_changed`` for the length of each test."""
    _heard.clear()
    enum_changed.connect(record_on_commit(_heard.append), weak=False,
                         dispatch_uid="tests.test_migrate_roundtrip")
    yield
    enum_changed.disconnect(dispatch_uid="tests.test_migrate_roundtrip")
    _heard.clear()


def _entries(migration: str) -> list[dict]:
    """The committed announcements of ``migration`` (``app_label.name``)."""
    return [heard for heard in _heard if heard["migration"] == migration]


def _swatches() -> dict[str, str]:
    return dict(run_sql("SELECT name, colour::text FROM enumapp_swatch ORDER BY name"))


def test_lifecycle__forwards_and_backwards__one_announcement_per_operation_and_direction(
    package,
):
    for name, operation in LIFECYCLE:
        package.add(name, operation)
    labels = enum_labels("colour_enum")
    out, err, code = run_command("migrate", "enumapp", "0905")
    assert code == 0, err
    assert enum_labels("colour_enum") == labels
    assert _swatches() == {"r1": "red", "v1": "blue", "v2": "blue"}
    assert "Removing 'violet' from enum type colour_enum (rows move to 'blue')" in out
    assert "Rewriting public.enumapp_swatch:" in out and "(columns: colour)" in out

    _out, err, code = run_command("migrate", "enumapp", package.real_leaf)
    assert code == 0, err
    assert enum_labels("colour_enum") == labels
    assert _swatches() == {}
    for name, value in ENUM_MIGRATIONS.items():
        entries = _entries(f"enumapp.{name}")
        assert sorted(entry["direction"] for entry in entries) == ["backwards", "forwards"], name
        for entry in entries:
            assert entry["type"] == "colour_enum"
            assert entry["value"] in {value, "purple"}
    assert _entries("enumapp.0903_violet_swatches") == []


def test_lifecycle__forwards_zero_forwards__identical_schema(package):
    for name, operation in LIFECYCLE:
        package.add(name, operation)
    at_real_leaf = catalog_snapshot()
    call_command("migrate", "enumapp", "0905", verbosity=0)
    forwards = catalog_snapshot()
    call_command("migrate", "enumapp", "zero", verbosity=0)
    assert enum_labels("colour_enum") == []
    assert run_sql("SELECT to_regclass('enumapp_swatch')") == [(None,)]
    call_command("migrate", "enumapp", "0905", verbosity=0)
    assert catalog_snapshot() == forwards
    call_command("migrate", "enumapp", package.real_leaf, verbosity=0)
    assert catalog_snapshot() == at_real_leaf


def test_migrate__value_added_and_used_in_one_migration__clear_error_nothing_applied(package):
    package.add(
        "0901_add_and_use_orange",
        "enum_ops.AddEnumValue(name='colour_enum', value='orange')",
        "migrations.RunSQL(\"INSERT INTO enumapp_swatch (colour, name) VALUES ('orange', 'o')\")",
    )
    before = catalog_snapshot()
    _out, err, code = run_command("migrate", "enumapp")
    assert code == 1
    assert "enumapp.0901_add_and_use_orange adds value 'orange' to enum type colour_enum" in err
    assert "Move the use of 'orange' into a later migration" in err
    assert "rolled back: nothing of it was applied" in err
    assert catalog_snapshot() == before
    assert "orange" not in enum_labels("colour_enum")
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("enumapp", "0901_add_and_use_orange") not in applied
    assert [heard for heard in _heard if heard["value"] == "orange"] == []


def test_migrate__value_added_then_used_by_the_next_migration__works(package):
    package.add("0901_add_orange", "enum_ops.AddEnumValue(name='colour_enum', value='orange')")
    package.add(
        "0902_use_orange",
        "migrations.RunSQL(\"INSERT INTO enumapp_swatch (colour, name) VALUES ('orange', 'o')\", "
        "\"DELETE FROM enumapp_swatch WHERE name = 'o'\")",
    )
    _out, err, code = run_command("migrate", "enumapp")
    assert code == 0, err
    assert _swatches() == {"o": "orange"}


def test_migrate__table_busy__gives_up_naming_the_session_then_succeeds(package, settings):
    settings.ENUM_LOCK_TIMEOUT = "100ms"
    settings.ENUM_LOCK_RETRIES = 1
    for name, operation in LIFECYCLE:
        package.add(name, operation)
    call_command("migrate", "enumapp", "0904", verbosity=0)
    with _session() as holder:
        holder.execute("SELECT count(*) FROM enumapp_swatch")
        _out, err, code = run_command("migrate", "enumapp", "0905")
        assert code == 1
        assert f"pid {holder.info.backend_pid} (idle in transaction" in err
        assert "Migration enumapp.0905_remove_violet was rolled back" in err
        assert "violet" in enum_labels("colour_enum")
    _out, err, code = run_command("migrate", "enumapp", "0905")
    assert code == 0, err
    assert "violet" not in enum_labels("colour_enum")


def _session() -> psycopg.Connection:
    params = connection.get_connection_params()
    wanted = {"dbname", "user", "password", "host", "port"}
    return psycopg.connect(**{key: value for key, value in params.items() if key in wanted})


def test_migrate__removal_refused__command_error_not_traceback(package):
    package.add(
        "0901_remove_green", "enum_ops.RemoveEnumValue(name='colour_enum', value='green')"
    )
    labels = enum_labels("colour_enum")
    _out, err, code = run_command("migrate", "enumapp")
    assert code == 1
    assert "Value 'green' of enum type colour_enum is not deprecated" in err
    assert "Migration enumapp.0901_remove_green was rolled back" in err
    assert enum_labels("colour_enum") == labels
