"""The enum rules as a mixin for a project's own autodetector and questioner.

A project that replaces ``makemigrations`` sets its own ``autodetector`` on a subclass of our
command (Django 5.2's extension point) and may ask Django's questions its own way; the enum rules
combine with both. Migration files are written under ``tmp_path`` only (see
``test_autodetector_rules`` for the ``enumapp`` states).
"""

from __future__ import annotations

import builtins
import io
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.commands import makemigrations as django_makemigrations
from django.db import models
from django.db.migrations import operations as ops
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.questioner import (
    InteractiveMigrationQuestioner,
    NonInteractiveMigrationQuestioner,
)

from betintel.enums import EnumField
from betintel.enums.autodetector import EnumAutodetector, EnumAutodetectorMixin
from betintel.enums.management.commands.makemigrations import Command as MakeMigrations
from tests.helpers import temporary_migration_module, written_migrations
from tests.test_autodetector_rules import _id, _state

pytestmark = pytest.mark.django_db


class ProjectAutodetector(MigrationAutodetector):
    """A project's own autodetector: it names every migration it writes."""

    def arrange_for_graph(self, changes, graph, migration_name=None):
        return super().arrange_for_graph(changes, graph, migration_name or "project_named")


class ProjectEnumAutodetector(EnumAutodetectorMixin, ProjectAutodetector):
    """The project's autodetector with the enum rules, combined as the README says."""


def _command(autodetector: type) -> MakeMigrations:
    """Our makemigrations, as a project's subclass setting its own autodetector."""
    return type("ProjectMakeMigrations", (MakeMigrations,), {"autodetector": autodetector})()


def _run(command: MakeMigrations, *args: str, **options) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("interactive", False)
    try:
        call_command(command, "enumapp", *args, stdout=out, stderr=err, **options)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    return out.getvalue(), err.getvalue(), code


def test_enum_autodetector__is_the_mixin_on_djangos_autodetector():
    assert EnumAutodetector.__mro__[1:3] == (EnumAutodetectorMixin, MigrationAutodetector)


def test_project_autodetector_returning_no_changes__no_changes_detected(tmp_path, settings):
    class NothingAutodetector(MigrationAutodetector):
        def changes(self, *args, **kwargs):
            return {}

    package = temporary_migration_module(tmp_path, settings, "enumapp", [])
    out, err, code = _run(_command(NothingAutodetector))
    assert code == 0, err
    assert "No changes detected" in out
    assert written_migrations(tmp_path, package) == {}


def test_project_autodetector_without_the_mixin__django_writes_without_enum_operations(
    tmp_path, settings
):
    package = temporary_migration_module(tmp_path, settings, "enumapp", [])
    _out, err, code = _run(_command(ProjectAutodetector))
    assert code == 0, err
    (name, text), = written_migrations(tmp_path, package).items()
    assert name == "0002_project_named.py"
    assert "migrations.CreateModel(" in text and "CreateEnumType" not in text


def test_project_autodetector_with_the_mixin__enum_operations_in_the_projects_migration(
    tmp_path, settings
):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green"])
    )
    out, err, code = _run(_command(ProjectEnumAutodetector))
    assert code == 0, err
    (name, text), = written_migrations(tmp_path, package).items()
    assert name == "0002_project_named.py"
    assert "AddEnumValue(" in text and "value='blue'" in text and "AlterField" not in text
    assert "Add value 'blue' to enum type colour_enum" in out


def test_project_autodetector_with_the_mixin__unsafe_edit_refused(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "teal"])
    )
    _out, err, code = _run(_command(ProjectEnumAutodetector))
    assert code != 0
    assert "'teal'" in err and "Did you rename" in err
    assert written_migrations(tmp_path, package) == {}


def test_project_autodetector_with_the_mixin__reorder_warning_on_the_commands_stderr(
    tmp_path, settings
):
    temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "blue", "green"])
    )
    logger = logging.getLogger("betintel.enums.autodetector")
    handlers_before = list(logger.handlers)
    out, err, code = _run(_command(ProjectEnumAutodetector))
    assert code == 0, err
    assert "No changes detected" in out
    assert "Warning: Members of enum type colour_enum are in another order" in err
    assert logger.handlers == handlers_before and logger.propagate


# A project's questioner keeps its answers to Django's questions.


def _renamed_name_field(colour: list[str]) -> list:
    """The ``enumapp`` state with ``Swatch.name`` still called ``title``."""
    operations = _state(colour=colour)
    swatch = ops.CreateModel(
        "Swatch",
        [
            ("id", _id()),
            ("colour", EnumField(type_name="colour_enum", values=colour)),
            ("title", models.CharField(blank=True, max_length=50)),
        ],
    )
    return [operations[0], operations[1], swatch, operations[3]]


class RenamingQuestioner(NonInteractiveMigrationQuestioner):
    """A project's questioner that knows every matching field pair is a rename."""

    def ask_rename(self, model_name, old_name, new_name, field_instance):
        return True


class InteractiveRenamingQuestioner(InteractiveMigrationQuestioner):
    """The same, in an interactive run: Django's rename question is never put to the user."""

    def ask_rename(self, model_name, old_name, new_name, field_instance):
        return True


def test_project_questioner__its_ask_rename_still_writes_rename_field(
    tmp_path, settings, monkeypatch
):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _renamed_name_field(["red", "green", "blue"])
    )
    monkeypatch.setattr(django_makemigrations, "NonInteractiveMigrationQuestioner",
                        RenamingQuestioner)
    _out, err, code = _run(MakeMigrations())
    assert code == 0, err
    (text,) = written_migrations(tmp_path, package).values()
    assert "migrations.RenameField(" in text and "old_name='title'" in text
    assert "RemoveField" not in text and "AddField" not in text


def test_project_questioner__interactive__enum_rename_asked_through_it_beside_rename_field(
    tmp_path, settings, monkeypatch
):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _renamed_name_field(["red", "green", "teal"])
    )
    monkeypatch.setattr(django_makemigrations, "InteractiveMigrationQuestioner",
                        InteractiveRenamingQuestioner)
    out = io.StringIO()

    def answer() -> str:
        # Yes to the enum question only: a "no" to Django's field question would show.
        return "y" if "of enum type" in out.getvalue().splitlines()[-1] else "n"

    monkeypatch.setattr(builtins, "input", lambda *_: answer())
    call_command(MakeMigrations(), "enumapp", interactive=True, stdout=out, stderr=io.StringIO())
    asked = [line.partition("[y/N]")[0] for line in out.getvalue().splitlines() if "[y/N]" in line]
    assert asked == ["Did you rename value 'teal' of enum type colour_enum to 'blue'? "]
    (text,) = written_migrations(tmp_path, package).values()
    assert "RenameEnumValue(" in text and "old='teal'" in text and "new='blue'" in text
    assert "migrations.RenameField(" in text and "old_name='title'" in text
    assert "RemoveField" not in text and "AddField" not in text


def test_questioner_with_its_own_enum_question__asked_instead(tmp_path, settings, monkeypatch):
    class DecidingQuestioner(NonInteractiveMigrationQuestioner):
        asked: list = []

        def ask_rename_enum_value(self, type_name, old, new):
            self.asked.append((type_name, old, new))
            return True

    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "teal"])
    )
    monkeypatch.setattr(django_makemigrations, "NonInteractiveMigrationQuestioner",
                        DecidingQuestioner)
    _out, err, code = _run(MakeMigrations())
    assert code == 0, err
    assert DecidingQuestioner.asked == [("colour_enum", "teal", "blue")]
    (text,) = written_migrations(tmp_path, package).values()
    assert "RenameEnumValue(" in text and "AddEnumValue" not in text
