"""Each system check of the enum engine, by its id (SPEC §6)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connections, models
from django.db.migrations.operations import RunSQL, SeparateDatabaseAndState
from django.db.utils import ConnectionHandler
from django.test.utils import isolate_apps

from betintel.enums import EnumField, deprecated, exhaustive, flagged
from betintel.enums import checks as enum_checks
from betintel.enums.exhaustive import registry
from tests.enumapp.models import Colour, Finish
from tests.helpers import (
    enum_labels,
    run_command,
    temporary_migration_module,
    unique_name,
)


def _ids(messages) -> list[str]:
    return [message.id for message in messages]


def _model_checks(*choices_and_types) -> list:
    """Run the model checks on a throwaway model with one EnumField per (class, type_name)."""
    with isolate_apps("tests.enumapp") as test_apps:
        attrs = {"__module__": __name__, "Meta": type("Meta", (), {"app_label": "enumapp"})}
        for index, (choices_class, type_name) in enumerate(choices_and_types):
            attrs[f"field_{index}"] = EnumField(choices_class, type_name=type_name)
        type("Throwaway", (models.Model,), attrs)
        configs = [test_apps.get_app_config("enumapp")]
        return [
            *enum_checks.check_members(app_configs=configs),
            *enum_checks.check_type_names(app_configs=configs),
        ]


def test_project__check_command__no_issues():
    out, err, code = run_command("check")
    assert code == 0 and "no issues" in out, err


def test_e001__empty_value():
    class Blank(models.TextChoices):
        NOTHING = "", "Nothing"
        SOMETHING = "something", "Something"

    (message,) = _model_checks((Blank, "blank_enum"))
    assert message.id == "enums.E001" and "NOTHING" in message.msg and "value" in message.msg


def test_e001__empty_display_label():
    class Unnamed(models.TextChoices):
        SILENT = "silent", " "
        LOUD = "loud", "Loud"

    (message,) = _model_checks((Unnamed, "unnamed_enum"))
    assert message.id == "enums.E001" and "SILENT" in message.msg


def test_e002__two_members_with_the_same_display_label():
    class Twice(models.TextChoices):
        FIRST = "first", "Same"
        SECOND = "second", "Same"

    (message,) = _model_checks((Twice, "twice_enum"))
    assert message.id == "enums.E002" and "'Same'" in message.msg and "SECOND" in message.msg


def test_e003__label_of_64_bytes__refused_63_accepted():
    class Long(models.TextChoices):
        FITS = "é" * 31 + "x", "Fits"  # 63 bytes in UTF-8
        TOO_LONG = "é" * 32, "Too long"  # 64 bytes in UTF-8

    (message,) = _model_checks((Long, "long_enum"))
    assert message.id == "enums.E003" and "TOO_LONG" in message.msg and "64 bytes" in message.msg


def test_e004__type_name_not_an_identifier():
    assert _ids(_model_checks((Colour, "colour-enum; drop"))) == ["enums.E004"]


def test_e005__type_name_longer_than_63_bytes():
    assert _ids(_model_checks((Colour, "t" * 64))) == ["enums.E005"]
    assert _model_checks((Colour, "t" * 63)) == []


def test_e006__one_type_name_bound_to_two_choices_classes():
    (message,) = _model_checks((Colour, "shared_enum"), (Finish, "shared_enum"))
    assert message.id == "enums.E006"
    assert "tests.enumapp.models.Colour" in message.msg
    assert "tests.enumapp.models.Finish" in message.msg


def test_e006__same_class_in_two_fields__accepted():
    assert _model_checks((Colour, "shared_enum"), (Colour, "shared_enum")) == []


def test_e007__replacement_not_a_member():
    class Gone(models.TextChoices):
        OLD = "old", deprecated("Old", replacement="nowhere")
        NEW = "new", "New"

    (message,) = _model_checks((Gone, "gone_enum"))
    assert message.id == "enums.E007" and "'nowhere'" in message.msg


def test_e008__replacement_itself_deprecated():
    class Chain(models.TextChoices):
        OLDEST = "oldest", deprecated("Oldest", replacement="old")
        OLD = "old", deprecated("Old", replacement="new")
        NEW = "new", "New"

    (message,) = _model_checks((Chain, "chain_enum"))
    assert message.id == "enums.E008" and "OLDEST" in message.msg


def test_e009__flagged_with_empty_flag():
    class Flags(models.TextChoices):
        ON = "on", "On"
        NOWHERE = "nowhere", flagged("Nowhere", flag="")

    (message,) = _model_checks((Flags, "flags_enum"))
    assert message.id == "enums.E009" and "NOWHERE" in message.msg


@pytest.fixture
def sqlite_alias():
    """A real (never opened) SQLite connection under an extra alias."""
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ""}})
    connections["sqlite_for_check"] = handler["default"]
    yield "sqlite_for_check"
    del connections["sqlite_for_check"]


def test_e010__database_not_postgresql__names_the_enum_models_migrating_there(sqlite_alias):
    messages = enum_checks.check_database_vendor(databases=["default", sqlite_alias])
    (message,) = messages
    assert message.id == "enums.E010" and "sqlite" in message.msg
    assert message.obj == sqlite_alias and "enumapp.Swatch" in message.msg
    assert "DATABASE_URL" not in message.hint and "embedded" not in message.hint


class OnlyDefault:
    """A project's router: every model migrates to ``default`` alone."""

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class EnumappAnywhere(OnlyDefault):
    """``enumapp`` may migrate to any database; the rest to ``default`` alone."""

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return True if app_label == "enumapp" else super().allow_migrate(db, app_label)


def test_e010__secondary_sqlite_no_enum_model_migrates_there__accepted(sqlite_alias, settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.OnlyDefault"]

    assert enum_checks.check_database_vendor(databases=["default", sqlite_alias]) == []


def test_e010__router_sends_some_enum_models_there__only_those_named(sqlite_alias, settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.EnumappAnywhere"]

    (message,) = enum_checks.check_database_vendor(databases=["default", sqlite_alias])

    assert message.id == "enums.E010" and "enumapp." in message.msg
    assert "bets.Bet" not in message.msg


def test_e010__postgresql__accepted():
    assert enum_checks.check_database_vendor(databases=None) == []


def _sql_checks(tmp_path, settings, *operations) -> list:
    temporary_migration_module(tmp_path, settings, "enumapp", list(operations))
    return enum_checks.check_migration_sql(app_configs=[apps.get_app_config("enumapp")])


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TYPE colour_enum ADD VALUE 'pink'",
        "ALTER TYPE public.colour_enum RENAME VALUE 'red' TO 'crimson'",
        "ALTER TYPE colour_enum RENAME TO hue_enum",
        "DROP TYPE IF EXISTS other_enum, colour_enum CASCADE",
        "ALTER TYPE colour_enum SET SCHEMA archive",
    ],
)
def test_e011__run_sql_changes_a_managed_type(tmp_path, settings, sql):
    (message,) = _sql_checks(tmp_path, settings, RunSQL(sql))
    assert message.id == "enums.E011"
    assert "colour_enum" in message.msg and "enumapp.0001_initial" in message.msg


def test_e011__reverse_sql_and_nested_database_operations__checked(tmp_path, settings):
    nested = SeparateDatabaseAndState(
        database_operations=[RunSQL(RunSQL.noop, reverse_sql="DROP TYPE finish_enum")]
    )
    (message,) = _sql_checks(tmp_path, settings, nested)
    assert message.id == "enums.E011" and "drops enum type finish_enum" in message.msg


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE pg_enum SET enumlabel = 'x' WHERE enumlabel = 'red'",
        "INSERT INTO pg_catalog.pg_enum (enumtypid, enumsortorder, enumlabel) VALUES (1, 9, 'x')",
        "WITH gone AS (DELETE FROM pg_enum WHERE enumlabel = 'red' RETURNING 1) SELECT 1",
    ],
)
def test_e012__run_sql_writes_pg_enum(tmp_path, settings, sql):
    (message,) = _sql_checks(tmp_path, settings, RunSQL(sql))
    assert message.id == "enums.E012"


def test_e012__placeholders_with_params__parsed(tmp_path, settings):
    operation = RunSQL([("UPDATE pg_enum SET enumlabel = %s WHERE enumlabel = 'x'", ["y"])])
    assert _ids(_sql_checks(tmp_path, settings, operation)) == ["enums.E012"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'DROP TYPE colour_enum; UPDATE pg_enum SET enumlabel = 1'",
        "-- ALTER TYPE colour_enum ADD VALUE 'x'\nSELECT 1",
        "ALTER TYPE somebody_elses_enum ADD VALUE 'x'",
        "SELECT enumlabel FROM pg_enum",
        "CREATE INDEX swatch_red ON enumapp_swatch (id) WHERE colour = 'red'",
    ],
)
def test_run_sql__text_that_only_mentions_a_type__not_reported(tmp_path, settings, sql):
    assert _sql_checks(tmp_path, settings, RunSQL(sql)) == []


def test_w001__unparsable_run_sql(tmp_path, settings):
    (message,) = _sql_checks(tmp_path, settings, RunSQL("ALTER TYPE colour_enum ADD VAL 'x'"))
    assert message.id == "enums.W001"


def test_w002__comment_on_a_managed_type(tmp_path, settings):
    (message,) = _sql_checks(tmp_path, settings, RunSQL("COMMENT ON TYPE colour_enum IS 'x'"))
    assert message.id == "enums.W002"


@pytest.fixture
def mappings():
    """The exhaustive(...) registry, restored afterwards so other tests see only real ones."""
    saved = dict(registry)
    registry.clear()
    yield registry
    registry.clear()
    registry.update(saved)


def test_e013__exhaustive_mapping_misses_a_member(mappings):
    exhaustive(Colour, {Colour.RED: "stop", Colour.GREEN: "go"})
    line = test_e013__exhaustive_mapping_misses_a_member.__code__.co_firstlineno + 1
    (message,) = enum_checks.check_exhaustive()
    assert message.id == "enums.E013" and "'blue'" in message.msg
    assert f"{__file__}:{line}" in message.msg


def test_e013__deprecated_member_may_be_left_out(mappings):
    table = exhaustive(Finish, {"matte": 1, Finish.GLOSS: 2, Finish.SATIN: 3})
    assert table == {"matte": 1, "gloss": 2, "satin": 3}
    assert enum_checks.check_exhaustive() == []


def test_w003__exhaustive_mapping_with_a_stale_key(mappings):
    exhaustive(Colour, {"red": 1, "green": 2, "blue": 3, "purple": 4})
    (message,) = enum_checks.check_exhaustive()
    assert message.id == "enums.W003" and "'purple'" in message.msg


def test_e014__value_with_a_nul_byte__names_class_member_and_field():
    class Hidden(models.TextChoices):
        PLAIN = "plain", "Plain"
        SMUGGLED = "a\x00b", "Smuggled"

    (message,) = _model_checks((Hidden, "hidden_enum"))
    assert message.id == "enums.E014"
    assert "test_e014__value_with_a_nul_byte__names_class_member_and_field.<locals>.Hidden" \
        ".SMUGGLED" in message.msg
    assert "enumapp.Throwaway.field_0" in message.msg and "'a\\x00b'" in message.msg
    assert "Remove the NUL character" in message.hint


NUL_APP_MODELS = """
from django.db import models

from betintel.enums import EnumField


class Hidden(models.TextChoices):
    PLAIN = "plain", "Plain"
    SMUGGLED = "a\\x00b", "Smuggled"


class Thing(models.Model):
    kind = EnumField(Hidden, type_name="{type_name}")
"""

NUL_APP_MIGRATION = """
from django.db import migrations, models

import betintel.enums
import betintel.enums.operations


class Migration(migrations.Migration):
    initial = True
    operations = [
        betintel.enums.operations.CreateEnumType(name="{type_name}", values=["plain", "a\\x00b"]),
        migrations.CreateModel(name="Thing", fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("kind", betintel.enums.EnumField(
                type_name="{type_name}", values=["plain", "a\\x00b"]
            )),
        ]),
    ]
"""


@pytest.mark.django_db
def test_e014__nul_byte__makemigrations_and_migrate_stop_with_the_check_not_a_traceback(
    tmp_path,
):
    from django.conf import settings

    from tests.processes import run_manage

    type_name = unique_name("hidden")
    app = tmp_path / "nulapp"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(NUL_APP_MODELS.format(type_name=type_name))
    (app / "migrations" / "__init__.py").write_text("")
    installed = {"INSTALLED_APPS": [*settings.INSTALLED_APPS, "nulapp"]}

    made = run_manage("makemigrations", "nulapp", settings=installed, pythonpath=[tmp_path])
    (app / "migrations" / "0001_initial.py").write_text(
        NUL_APP_MIGRATION.format(type_name=type_name)
    )
    migrated = run_manage("migrate", "nulapp", settings=installed, pythonpath=[tmp_path])

    for done in (made, migrated):
        assert done.returncode == 1, done.stdout + done.stderr
        assert "(enums.E014)" in done.stderr and "nulapp.models.Hidden.SMUGGLED" in done.stderr
        assert "Traceback" not in done.stderr and "DataError" not in done.stderr
    assert sorted(path.name for path in (app / "migrations").glob("0*.py")) == [
        "0001_initial.py"
    ]
    assert enum_labels(type_name) == []


DYNAMIC_SQL = {
    "execute_literal": (
        "DO $$ BEGIN EXECUTE 'ALTER TYPE colour_enum RENAME VALUE ''red'' TO ''crimson'''; "
        "END $$"
    ),
    "execute_format": (
        "DO $$ BEGIN EXECUTE format('ALTER TYPE %I RENAME VALUE %L TO %L', 'colour_enum', "
        "'red', 'crimson'); END $$"
    ),
    "function_body_then_called": (
        "CREATE FUNCTION rename_red() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN "
        "EXECUTE 'ALTER TYPE colour_enum RENAME VALUE ''red'' TO ''crimson'''; END $body$; "
        "SELECT rename_red(); DROP FUNCTION rename_red()"
    ),
    "for_in_execute": (
        "DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP NULL; END LOOP; END $$"
    ),
}


@pytest.mark.parametrize("sql", DYNAMIC_SQL.values(), ids=DYNAMIC_SQL.keys())
def test_w004__run_sql_with_dynamic_sql__cannot_be_verified(tmp_path, settings, sql):
    (message,) = _sql_checks(tmp_path, settings, RunSQL(sql))
    assert message.id == "enums.W004"
    assert "enumapp.0001_initial" in message.msg and "cannot be verified" in message.msg
    assert "plain statements" in message.hint and "AddEnumValue" in message.hint


@pytest.mark.parametrize(
    ("sql", "check_id", "what"),
    [
        ("DO $$ BEGIN ALTER TYPE colour_enum ADD VALUE 'pink'; END $$", "enums.E011",
         "alters the values of enum type colour_enum in a DO block"),
        ("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN IF true THEN "
         "UPDATE pg_enum SET enumlabel = 'x'; END IF; END $$", "enums.E012",
         "writes the catalog pg_enum (UPDATE) in the body of function f"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DROP TYPE colour_enum; SELECT 1'",
         "enums.E011", "drops enum type colour_enum in the body of function f"),
    ],
    ids=["do_block_alters_type", "function_writes_pg_enum", "sql_function_drops_type"],
)
def test_run_sql__plain_statements_in_do_blocks_and_functions__checked(
    tmp_path, settings, sql, check_id, what
):
    (message,) = _sql_checks(tmp_path, settings, RunSQL(sql))
    assert message.id == check_id and what in message.msg


def test_run_sql__do_block_without_dynamic_sql_or_enum_changes__not_reported(
    tmp_path, settings
):
    sql = "DO $$ BEGIN RAISE NOTICE 'ready'; PERFORM 1; END $$"
    assert _sql_checks(tmp_path, settings, RunSQL(sql)) == []


def _migration_package(tmp_path, settings, app_label: str, files: dict[str, str]) -> None:
    """A migration package for ``app_label`` made of ``files`` (name -> source)."""
    import sys

    package = unique_name("migrations")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    for name, source in files.items():
        (tmp_path / package / f"{name}.py").write_text(source)
    if str(tmp_path) not in sys.path:
        sys.path.insert(0, str(tmp_path))
    settings.MIGRATION_MODULES = {app_label: package}


DEPENDS_ON_A_MISSING_MIGRATION = '''
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("enumapp", "0000_deleted_long_ago")]
    operations = [migrations.RunSQL("ALTER TYPE colour_enum RENAME VALUE 'red' TO 'crimson'")]
'''


def test_migration_sql__dependency_on_a_missing_migration__still_reads_the_sql(
    tmp_path, settings
):
    _migration_package(tmp_path, settings, "enumapp", {"0001_initial": (
        DEPENDS_ON_A_MISSING_MIGRATION
    )})

    messages = enum_checks.check_migration_sql(app_configs=[apps.get_app_config("enumapp")])

    assert _ids(messages) == ["enums.E011"]


def test_w005__migration_that_cannot_be_imported__warning_not_a_crash(tmp_path, settings):
    _migration_package(tmp_path, settings, "enumapp", {
        "0001_initial": "from somewhere_removed import helper\n",
    })

    (message,) = enum_checks.check_migration_sql(app_configs=[apps.get_app_config("enumapp")])

    assert message.id == "enums.W005"
    assert "check_migration_sql could not run" in message.msg
    assert "somewhere_removed" in message.msg


BROKEN_APP_MODELS = '''
from django.db import models


class Ticket(models.Model):
    owner = models.ForeignKey("removedapp.Owner", on_delete=models.CASCADE)
'''

BROKEN_APP_MIGRATION = '''
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("removedapp", "0001_initial")]
    operations = [migrations.RunSQL("ALTER TYPE colour_enum RENAME VALUE 'red' TO 'crimson'")]
'''


@pytest.mark.django_db
def test_check__app_depends_on_a_removed_app__django_reports_it_and_no_traceback(tmp_path):
    from django.conf import settings

    from tests.processes import run_manage

    app = tmp_path / "ticketapp"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(BROKEN_APP_MODELS)
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(BROKEN_APP_MIGRATION)

    done = run_manage(
        "check", settings={"INSTALLED_APPS": [*settings.INSTALLED_APPS, "ticketapp"]},
        pythonpath=[tmp_path],
    )

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and "NodeNotFoundError" not in output
    # Django's own report of the cause, and the engine's check of the migration's SQL.
    assert "ticketapp.Ticket.owner: (fields.E300)" in output
    assert "ticketapp.0001_initial: (enums.E011)" in output


def test_every_engine_check__wrapped_to_report_instead_of_raising():
    from django.core.checks.registry import registry as check_registry

    engine = [
        check for check in check_registry.get_checks(include_deployment_checks=True)
        if check.__module__.startswith("betintel.enums")
    ]

    assert len(engine) >= 5
    unwrapped = [check.__name__ for check in engine if not hasattr(check, "__wrapped__")]
    assert unwrapped == [], "decorate these with betintel.enums.checks.never_raises"
