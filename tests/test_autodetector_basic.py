"""makemigrations writes CreateEnumType before first use and AddEnumValue for new members.

Each test gives ``enumapp`` a temporary migration module whose state is an older version of
``tests.enumapp.models`` (which has Colour = red, green, blue), so the difference is the
change under test; files are written under ``tmp_path`` only.
"""

from __future__ import annotations

import pytest
from django.db import models
from django.db.migrations import operations as ops

from betintel.enums import EnumField
from betintel.enums.operations import CreateEnumType
from tests.helpers import run_command, temporary_migration_module, written_migrations

pytestmark = pytest.mark.django_db


def _swatch(values: list[str]):
    primary_key = models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )
    fields = [("id", primary_key)]
    fields.append(("colour", EnumField(type_name="colour_enum", values=values)))
    fields.append(("name", models.CharField(blank=True, max_length=50)))
    return ops.CreateModel("Swatch", fields)


def test_new_type__create_enum_type_written_before_its_first_use(tmp_path, settings):
    package = temporary_migration_module(tmp_path, settings, "enumapp", [])
    out, err, code = run_command("makemigrations", "enumapp", interactive=False)
    assert code == 0, err
    (text,) = written_migrations(tmp_path, package).values()
    create = text.index("CreateEnumType(")
    create_model = text.index("migrations.CreateModel(")
    assert create < create_model
    assert "name='colour_enum'" in text and "values=['red', 'green', 'blue']" in text
    assert "Create enum type colour_enum" in out


def test_appended_member__one_migration_with_add_enum_value(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        [CreateEnumType("colour_enum", ["red", "green"]), _swatch(["red", "green"])],
    )
    out, err, code = run_command("makemigrations", "enumapp", interactive=False)
    assert code == 0, err
    (text,) = written_migrations(tmp_path, package).values()
    assert "AddEnumValue(" in text
    assert "value='blue'" in text
    assert "before=" not in text and "AlterField" not in text
    assert "Add value 'blue' to enum type colour_enum" in out


def test_inserted_member__add_enum_value_placed_before_its_successor(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        [CreateEnumType("colour_enum", ["red", "blue"]), _swatch(["red", "blue"])],
    )
    _out, err, code = run_command("makemigrations", "enumapp", interactive=False)
    assert code == 0, err
    (text,) = written_migrations(tmp_path, package).values()
    assert "value='green'" in text and "before='blue'" in text


def test_second_run__no_changes_detected(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        [CreateEnumType("colour_enum", ["red", "green"]), _swatch(["red", "green"])],
    )
    assert run_command("makemigrations", "enumapp", interactive=False)[2] == 0
    out, _err, code = run_command("makemigrations", "enumapp", interactive=False)
    assert code == 0
    assert "No changes detected" in out
    assert len(written_migrations(tmp_path, package)) == 1
    assert run_command("makemigrations", "enumapp", "--check", "--dry-run")[2] == 0


def test_check__pending_enum_change__exits_non_zero(tmp_path, settings):
    temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        [CreateEnumType("colour_enum", ["red", "green"]), _swatch(["red", "green"])],
    )
    _out, _err, code = run_command("makemigrations", "enumapp", "--check", "--dry-run")
    assert code == 1


def test_project__makemigrations_check_is_clean():
    out, err, code = run_command("makemigrations", "--check", "--dry-run")
    assert code == 0, out + err
