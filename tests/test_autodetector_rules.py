"""Every row of SPEC §5, through the real ``makemigrations`` command.

The code side is ``tests.enumapp.models``: ``Colour`` (red, green, blue) on ``Swatch``, and
``Finish`` (matte, gloss, satin flagged, metallic deprecated → gloss) on ``Paint``, whose
``finish`` defaults to ``matte`` and whose constraint names ``satin``. Each test gives
``enumapp`` a temporary migration module holding an older state, so the difference is the
change under test; files are written under ``tmp_path`` only.
"""

from __future__ import annotations

import builtins

import pytest
from django.db import models
from django.db.migrations import Migration
from django.db.migrations import operations as ops
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState
from django.test.utils import isolate_apps

from betintel.enums import EnumField
from betintel.enums.autodetector import EnumAutodetector
from betintel.enums.operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    DropEnumType,
)
from tests.helpers import run_command, temporary_migration_module, written_migrations

pytestmark = pytest.mark.django_db

FINISH = ["matte", "gloss", "satin", "metallic"]
SATIN_NAMED = models.CheckConstraint(
    condition=~models.Q(finish="satin", name=""), name="enumapp_paint_satin_named"
)


def _id():
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


def _swatch(values: list[str], deprecated: dict | None = None, **extra_fields):
    colour = EnumField(type_name="colour_enum", values=values, deprecated=deprecated)
    name = models.CharField(blank=True, max_length=50)
    fields = [("id", _id()), ("colour", colour), ("name", name)]
    return ops.CreateModel("Swatch", fields + list(extra_fields.items()))


def _paint(values, deprecated=None, default="matte", constraints=(SATIN_NAMED,)):
    options = {"default": default} if default is not None else {}
    finish = EnumField(type_name="finish_enum", values=values, deprecated=deprecated, **options)
    name = models.CharField(blank=True, max_length=50)
    fields = [("id", _id()), ("name", name), ("finish", finish)]
    return ops.CreateModel("Paint", fields, options={"constraints": list(constraints)})


def _state(colour=("red", "green", "blue"), colour_deprecated=None, finish=FINISH,
           finish_deprecated=None, **paint):
    """Operations of an initial migration: both types and both models, as given."""
    if finish_deprecated is None:
        finish_deprecated = {"metallic": "gloss"}
    return [
        CreateEnumType("colour_enum", list(colour)),
        CreateEnumType("finish_enum", list(finish)),
        _swatch(list(colour), colour_deprecated),
        _paint(list(finish), finish_deprecated, **paint),
    ]


def _makemigrations(*args, **options):
    options.setdefault("interactive", False)
    return run_command("makemigrations", "enumapp", *args, **options)


def _only_written(tmp_path, package) -> str:
    (text,) = written_migrations(tmp_path, package).values()
    return text


def test_unchanged_state__no_changes_detected(tmp_path, settings):
    temporary_migration_module(tmp_path, settings, "enumapp", _state())
    out, err, code = _makemigrations()
    assert code == 0 and "No changes detected" in out, err


def test_member_deprecated__deprecate_enum_value_with_its_replacement(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(finish_deprecated={})
    )
    out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    assert "DeprecateEnumValue(" in text
    assert "value='metallic'" in text and "replacement='gloss'" in text
    assert "AlterField" not in text
    assert "Deprecate value 'metallic' of enum type finish_enum" in out
    assert "No changes detected" in _makemigrations()[0]


def test_deprecated_member_deleted__remove_enum_value_with_recorded_replacement(
    tmp_path, settings
):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        _state(
            finish=[*FINISH, "pearl"], finish_deprecated={"metallic": "gloss", "pearl": "matte"}
        ),
    )
    out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    assert "RemoveEnumValue(" in text
    assert "value='pearl'" in text and "replacement='matte'" in text
    assert "    atomic = False\n" in text
    assert "AlterField" not in text
    assert "No changes detected" in _makemigrations()[0]


def test_removal_with_other_changes__removal_in_a_non_atomic_migration_of_its_own(
    tmp_path, settings
):
    import importlib

    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        _state(
            colour=("red", "green"),
            finish=[*FINISH, "pearl"],
            finish_deprecated={"metallic": "gloss", "pearl": "matte"},
        ),
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    written = written_migrations(tmp_path, package)
    assert len(written) == 2
    (first_name, first), (second_name, second) = written.items()
    assert "AddEnumValue(" in first and "RemoveEnumValue" not in first
    assert "atomic = False" not in first
    assert "RemoveEnumValue(" in second and "AddEnumValue" not in second
    assert f"('enumapp', '{first_name.removesuffix('.py')}')" in second
    module = importlib.import_module(f"{package}.{second_name.removesuffix('.py')}")
    assert module.Migration.atomic is False
    assert len(module.Migration.operations) == 1
    assert "No changes detected" in _makemigrations()[0]


def test_member_deleted__not_deprecated__refused_no_file_written(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "blue", "purple"])
    )
    out, err, code = _makemigrations()
    assert code != 0
    assert written_migrations(tmp_path, package) == {}
    assert "Value 'purple' of enum type colour_enum is gone from the code" in err
    assert "is not deprecated, so makemigrations wrote nothing" in err
    assert "add the new value" in err and "deprecated(label, replacement=" in err
    assert "in a later release" in err


def test_member_deleted__not_deprecated__check_exits_non_zero(tmp_path, settings):
    temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "blue", "purple"])
    )
    assert _makemigrations("--check", "--dry-run")[2] != 0


def test_value_edited__non_interactive__refused_suggesting_the_rename_question(
    tmp_path, settings
):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "teal"])
    )
    _out, err, code = _makemigrations()
    assert code != 0
    assert written_migrations(tmp_path, package) == {}
    assert "'teal'" in err and "edited to 'blue'" in err and "Did you rename" in err


def test_value_edited__interactive_yes__rename_enum_value_written(
    tmp_path, settings, monkeypatch
):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "teal"])
    )
    monkeypatch.setattr(builtins, "input", lambda *_: "y")
    out, err, code = _makemigrations(interactive=True)
    questions = [line for line in out.splitlines() if "Did you rename" in line]
    assert code == 0, err
    assert questions and "Did you rename value 'teal' of enum type colour_enum to 'blue'?" in (
        questions[0]
    )
    text = _only_written(tmp_path, package)
    assert "RenameEnumValue(" in text and "old='teal'" in text and "new='blue'" in text
    assert "AddEnumValue" not in text and "AlterField" not in text
    assert "No changes detected" in _makemigrations()[0]


def test_value_edited__interactive_no__refused_no_file_written(tmp_path, settings, monkeypatch):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green", "teal"])
    )
    monkeypatch.setattr(builtins, "input", lambda *_: "n")
    out, err, code = _makemigrations(interactive=True)
    assert "Did you rename value 'teal'" in out
    assert code != 0 and "'teal'" in err
    assert written_migrations(tmp_path, package) == {}


def test_members_reordered__no_operation__warning_on_stderr(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "blue", "green"])
    )
    out, err, code = _makemigrations()
    assert code == 0
    assert "No changes detected" in out
    assert "Members of enum type colour_enum are in another order" in err
    assert written_migrations(tmp_path, package) == {}
    assert _makemigrations("--check", "--dry-run")[2] == 0


def test_member_undeprecated__refused_explaining_why(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        _state(finish_deprecated={"metallic": "gloss", "matte": "gloss"}),
    )
    _out, err, code = _makemigrations()
    assert code != 0 and "Value 'matte' of enum type finish_enum is deprecated" in err
    assert written_migrations(tmp_path, package) == {}


def test_type_no_longer_used_by_a_removed_field__drop_enum_type_after_the_removal(
    tmp_path, settings
):
    shade = EnumField(type_name="shade_enum", values=["light", "dark"])
    operations = _state()
    operations.insert(0, CreateEnumType("shade_enum", ["light", "dark"]))
    operations[3] = _swatch(["red", "green", "blue"], shade=shade)
    package = temporary_migration_module(tmp_path, settings, "enumapp", operations)
    out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    assert text.index("migrations.RemoveField(") < text.index("DropEnumType(")
    assert "name='shade_enum'" in text and "values=['light', 'dark']" in text
    assert "No changes detected" in _makemigrations()[0]


def test_type_no_longer_used_by_a_deleted_model__drop_enum_type_after_the_deletion(
    tmp_path, settings
):
    shade = EnumField(type_name="shade_enum", values=["light", "dark"])
    retired = ops.CreateModel("Retired", [("id", _id()), ("shade", shade)])
    operations = [CreateEnumType("shade_enum", ["light", "dark"]), *_state(), retired]
    package = temporary_migration_module(tmp_path, settings, "enumapp", operations)
    _out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    assert text.index("migrations.DeleteModel(") < text.index("DropEnumType(")


def test_new_type_with_deprecated_member__created_then_deprecation_recorded(tmp_path, settings):
    operations = [CreateEnumType("colour_enum", ["red", "green", "blue"]), _state()[2]]
    package = temporary_migration_module(tmp_path, settings, "enumapp", operations)
    _out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    create = text.index("CreateEnumType(")
    deprecate = text.index("DeprecateEnumValue(")
    assert create < deprecate < text.index("migrations.CreateModel(")
    assert "name='finish_enum'" in text


def test_added_value_used_as_default__split_into_two_migrations(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        _state(finish=["gloss", "satin", "metallic"], default=None),
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    first, second = written_migrations(tmp_path, package).items()
    assert first[0].startswith("0002_") and second[0].startswith("0003_")
    assert "AddEnumValue(" in first[1] and "value='matte'" in first[1]
    assert "before='gloss'" in first[1] and "AlterField" not in first[1]
    assert "migrations.AlterField(" in second[1] and "default='matte'" in second[1]
    assert "AddEnumValue" not in second[1]
    assert f"('enumapp', '{first[0].removesuffix('.py')}')" in second[1]
    assert "No changes detected" in _makemigrations()[0]


def test_added_value_named_in_a_check_constraint__split_into_two_migrations(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        _state(finish=["matte", "gloss", "metallic"], constraints=()),
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    first, second = written_migrations(tmp_path, package).values()
    assert "value='satin'" in first and "before='metallic'" in first
    assert "AddConstraint" not in first
    assert "migrations.AddConstraint(" in second and "AddEnumValue" not in second
    assert "No changes detected" in _makemigrations()[0]


def test_added_value_not_used__single_migration(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path, settings, "enumapp", _state(colour=["red", "green"])
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    assert "value='blue'" in _only_written(tmp_path, package)


def test_deprecate_and_add_in_one_run__one_migration_keeps_code_order(tmp_path, settings):
    package = temporary_migration_module(
        tmp_path,
        settings,
        "enumapp",
        _state(colour=["red", "blue"], finish_deprecated={}),
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    assert "value='green'" in text and "before='blue'" in text
    assert "DeprecateEnumValue(" in text


def test_written_operations__deconstruct_to_plain_data():
    operation = DeprecateEnumValue("finish_enum", "metallic", replacement="gloss")
    assert operation.deconstruct() == (
        "DeprecateEnumValue",
        [],
        {"name": "finish_enum", "value": "metallic", "replacement": "gloss"},
    )


# The autodetector on hand-built states: several apps, and what migration state cannot hold.


def _model_state(app_label: str, name: str, **fields):
    return ModelState(app_label, name, [("id", _id()), *fields.items()])


def _project(*model_states):
    state = ProjectState()
    for model_state in model_states:
        state.add_model(model_state)
    return state


def _graph(*migrations):
    graph = MigrationGraph()
    for migration in migrations:
        graph.add_node((migration.app_label, migration.name), migration)
    return graph


def _detect(from_state, to_state, graph, *apps):
    questioner = MigrationQuestioner(specified_apps=set(apps))
    return EnumAutodetector(from_state, to_state, questioner).changes(graph)


def _mood(**options):
    return EnumField(type_name="mood_enum", values=["calm", "wild"], **options)


def test_type_owned_by_another_apps_migration__new_use_depends_on_that_migration():
    created = Migration("0001_initial", "alpha")
    created.operations = [CreateEnumType("mood_enum", ["calm", "wild"])]
    before = _project(_model_state("alpha", "Horse", mood=_mood()))
    after = _project(
        _model_state("alpha", "Horse", mood=_mood()), _model_state("beta", "Rider", mood=_mood())
    )
    changes = _detect(before, after, _graph(created), "beta")
    (migration,) = changes["beta"]
    assert ("alpha", "0001_initial") in migration.dependencies
    assert not any(isinstance(op, CreateEnumType) for op in migration.operations)


def test_new_type_used_by_two_apps__other_app_depends_on_the_creating_migration():
    after = _project(
        _model_state("alpha", "Horse", mood=_mood()), _model_state("beta", "Rider", mood=_mood())
    )
    changes = _detect(_project(), after, _graph(), "alpha", "beta")
    (alpha,) = changes["alpha"]
    (beta,) = changes["beta"]
    assert isinstance(alpha.operations[0], CreateEnumType)
    assert ("alpha", alpha.name) in beta.dependencies


def test_value_added_in_one_app_used_as_default_in_another__other_app_waits_for_it():
    created = Migration("0001_initial", "alpha")
    created.operations = [CreateEnumType("mood_enum", ["calm"])]
    old_mood = EnumField(type_name="mood_enum", values=["calm"])
    before = _project(
        _model_state("alpha", "Horse", mood=old_mood),
        _model_state("beta", "Rider", mood=EnumField(type_name="mood_enum", values=["calm"])),
    )
    after = _project(
        _model_state("alpha", "Horse", mood=_mood()),
        _model_state("beta", "Rider", mood=_mood(default="wild")),
    )
    changes = _detect(before, after, _graph(created), "alpha", "beta")
    (alpha,) = changes["alpha"]
    (beta,) = changes["beta"]
    assert [type(op) for op in alpha.operations] == [AddEnumValue]
    assert ("alpha", alpha.name) in beta.dependencies


def _horse_state(choices_class):
    """The migration state of a model whose enum field uses ``choices_class``."""
    with isolate_apps("tests.enumapp"):

        class Horse(models.Model):
            mood = EnumField(choices_class, type_name="mood_enum")

            class Meta:
                app_label = "enumapp"

        return ModelState.from_model(Horse)


def test_label_changed__no_operation():
    class Before(models.TextChoices):
        CALM = "calm", "Calm"
        WILD = "wild", "Wild"

    class After(models.TextChoices):
        CALM = "calm", "Serene"
        WILD = "wild", "Untamed"

    before, after = _project(_horse_state(Before)), _project(_horse_state(After))
    assert _detect(before, after, _graph(), "enumapp") == {}


def test_member_added_beside_label_change__only_the_addition():
    class Before(models.TextChoices):
        CALM = "calm", "Calm"

    class After(models.TextChoices):
        CALM = "calm", "Serene"
        WILD = "wild", "Wild"

    changes = _detect(
        _project(_horse_state(Before)), _project(_horse_state(After)), _graph(), "enumapp"
    )
    (migration,) = changes["enumapp"]
    assert [type(op) for op in migration.operations] == [AddEnumValue]


def _mood_created(values: list[str]) -> Migration:
    created = Migration("0001_initial", "alpha")
    created.operations = [CreateEnumType("mood_enum", values)]
    return created


def test_added_value_in_a_partial_index_condition__index_waits_for_next_migration():
    old_mood = EnumField(type_name="mood_enum", values=["calm"])
    before = _project(_model_state("alpha", "Horse", mood=old_mood))
    horse = _model_state("alpha", "Horse", mood=_mood())
    horse.options["indexes"] = [
        models.Index(fields=["id"], condition=models.Q(mood="wild"), name="alpha_wild_horses")
    ]
    changes = _detect(before, _project(horse), _graph(_mood_created(["calm"])), "alpha")
    first, second = changes["alpha"]
    assert [type(op) for op in first.operations] == [AddEnumValue]
    assert [type(op) for op in second.operations] == [ops.AddIndex]
    assert ("alpha", first.name) in second.dependencies


def test_added_value_as_default_of_a_new_model__model_waits_for_next_migration():
    old_mood = EnumField(type_name="mood_enum", values=["calm"])
    before = _project(_model_state("alpha", "Horse", mood=old_mood))
    after = _project(
        _model_state("alpha", "Horse", mood=_mood()),
        _model_state("alpha", "Stallion", mood=_mood(default="wild")),
    )
    changes = _detect(before, after, _graph(_mood_created(["calm"])), "alpha")
    first, second = changes["alpha"]
    assert [type(op) for op in first.operations] == [AddEnumValue]
    assert [type(op) for op in second.operations] == [ops.CreateModel]


def test_type_losing_its_last_use_in_another_app__dropped_after_that_removal():
    before = _project(_model_state("alpha", "Horse"), _model_state("beta", "Rider", mood=_mood()))
    after = _project(_model_state("alpha", "Horse"), _model_state("beta", "Rider"))
    changes = _detect(before, after, _graph(_mood_created(["calm", "wild"])), "alpha", "beta")
    (alpha,) = changes["alpha"]
    (beta,) = changes["beta"]
    assert [type(op) for op in alpha.operations] == [DropEnumType]
    assert [type(op) for op in beta.operations] == [ops.RemoveField]
    assert ("beta", beta.name) in alpha.dependencies


def test_replacement_of_a_deprecation_changed__deprecate_enum_value_again():
    before = _project(_model_state("alpha", "Horse", mood=_mood(deprecated={"wild": None})))
    after = _project(_model_state("alpha", "Horse", mood=_mood(deprecated={"wild": "calm"})))
    changes = _detect(before, after, _graph(_mood_created(["calm", "wild"])), "alpha")
    (migration,) = changes["alpha"]
    (operation,) = migration.operations
    assert isinstance(operation, DeprecateEnumValue) and operation.replacement == "calm"


def test_migrate_check__unsafe_edit__reported_as_pending_not_raised():
    before = _project(
        _model_state("alpha", "Horse", mood=EnumField(type_name="mood_enum", values=["x", "y"]))
    )
    after = _project(_model_state("alpha", "Horse", mood=_mood()))
    # migrate builds the autodetector without a questioner, after applying migrations.
    changes = EnumAutodetector(before, after).changes(_graph(_mood_created(["x", "y"])))
    assert changes["alpha"]
