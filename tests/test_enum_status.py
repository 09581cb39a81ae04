"""``manage.py enum_status``: the report, drift, --check, --database and row counts.

Shown on ``tests.enumapp`` (``Colour``; ``Finish`` with ``satin`` flagged ``enable_satin`` and
``metallic`` deprecated) and ``tests.statusapp``; the report on the site's own types is tested
in ``test_site_integration``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import modify_settings
from psycopg import sql

from tests.enumapp.models import Finish, Paint
from tests.helpers import run_command
from tests.processes import ROOT

VALUE_KEYS = {
    "value", "label", "in_code", "in_db", "state", "flag", "flag_on", "rows", "rows_estimated",
}


def status(*args: str) -> tuple[dict, int]:
    """The ``--json`` report and the exit status."""
    out, err, code = run_command("enum_status", "--json", *args)
    return json.loads(out), code


def type_entry(report: dict, type_name: str) -> dict:
    return next(entry for entry in report["enums"] if entry["type"] == type_name)


def value_entry(entry: dict, value: str) -> dict:
    return next(item for item in entry["values"] if item["value"] == value)


def execute(statement: sql.Composable) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def make_paints(**per_finish: int) -> None:
    Paint.objects.bulk_create(
        Paint(name="x", finish=finish)
        for finish, number in per_finish.items()
        for _ in range(number)
    )


@pytest.mark.django_db
def test_enum_status__clean_database__ok_and_exit_0():
    make_paints(matte=3, metallic=1)

    report, code = status("--check")

    assert code == 0
    assert report["database"] == "default"
    assert report["ok"] is True
    assert all(entry["drift"] == [] for entry in report["enums"])
    finish = type_entry(report, "finish_enum")
    assert finish["choices"] == "tests.enumapp.models.Finish"
    assert finish["columns"] == ["enumapp_paint.finish"]
    assert [item["value"] for item in finish["values"]] == [member.value for member in Finish]
    assert all(set(item) == VALUE_KEYS for item in finish["values"])
    assert value_entry(finish, "matte") == {
        "value": "matte", "label": "Matte", "in_code": True, "in_db": True,
        "state": "active", "flag": None, "flag_on": None, "rows": 3, "rows_estimated": False,
    }
    assert value_entry(finish, "metallic")["rows"] == 1
    assert value_entry(finish, "metallic")["state"] == "deprecated"
    assert value_entry(finish, "gloss")["rows"] == 0
    assert {"colour_enum", "finish_enum"} <= {entry["type"] for entry in report["enums"]}


@pytest.mark.django_db
def test_enum_status__text__a_table_per_type_and_a_verdict():
    out, err, code = run_command("enum_status")

    assert code == 0
    assert "finish_enum  (tests.enumapp.models.Finish)" in out
    assert "columns: enumapp_paint.finish" in out
    assert any(line.split()[:2] == ["matte", "Matte"] for line in out.splitlines())
    assert "enable_satin (off)" in out
    assert "OK: the code and the database agree" in out


@pytest.mark.django_db
def test_enum_status__label_added_behind_the_codes_back__drift_names_it_and_check_exits_1():
    execute(sql.SQL("ALTER TYPE finish_enum ADD VALUE {}").format(sql.Literal("sneaky_finish")))

    out, err, code = run_command("enum_status", "--check")
    report, json_code = status("--check")

    assert code == 1 and json_code == 1
    assert "DRIFT" in out and "'sneaky_finish'" in out
    assert report["ok"] is False
    finish = type_entry(report, "finish_enum")
    assert len(finish["drift"]) == 1
    assert "'sneaky_finish'" in finish["drift"][0]
    assert "unknown to the code" in finish["drift"][0]
    sneaky = value_entry(finish, "sneaky_finish")
    assert (sneaky["in_code"], sneaky["in_db"], sneaky["label"]) == (False, True, None)


@pytest.mark.django_db
def test_enum_status__value_renamed_in_database__both_names_are_drift():
    execute(sql.SQL("ALTER TYPE colour_enum RENAME VALUE 'blue' TO 'navy'"))

    report, code = status("--check")

    assert code == 1
    colour = type_entry(report, "colour_enum")
    assert value_entry(colour, "blue")["in_db"] is False
    assert value_entry(colour, "navy")["in_code"] is False
    assert any("'blue'" in problem and "not in the database" in problem
               for problem in colour["drift"])
    assert any("'navy'" in problem for problem in colour["drift"])


@pytest.mark.django_db
def test_enum_status__values_ordered_differently__warning_not_drift():
    # red, green, blue in the code; blue, green, red in the database.
    for old, new in [("red", "tmp_red"), ("blue", "red"), ("tmp_red", "blue")]:
        execute(sql.SQL("ALTER TYPE colour_enum RENAME VALUE {} TO {}").format(
            sql.Literal(old), sql.Literal(new)
        ))

    report, code = status("--check")

    assert code == 0
    colour = type_entry(report, "colour_enum")
    assert colour["drift"] == []
    assert len(colour["warnings"]) == 1
    assert "ordered differently" in colour["warnings"][0]


@pytest.mark.django_db(transaction=True)
def test_enum_status__migration_not_applied__type_missing_is_drift():
    call_command("migrate", "enumapp", "zero", verbosity=0)
    try:
        report, code = status("--check")
    finally:
        call_command("migrate", "enumapp", verbosity=0)

    assert code == 1
    colour = type_entry(report, "colour_enum")
    assert colour["columns"] == []
    assert all(item["in_code"] and not item["in_db"] for item in colour["values"])
    assert "does not exist in the database" in colour["drift"][0]
    assert "manage.py migrate" in colour["drift"][0]
    after, code_after = status("--check")
    assert code_after == 0 and after["ok"] is True


@pytest.mark.django_db
def test_enum_status__deprecated_in_database_only__drift():
    comment = json.dumps({"betintel": {"deprecated": {"green": None}}})
    execute(sql.SQL("COMMENT ON TYPE colour_enum IS {}").format(sql.Literal(comment)))

    report, code = status("--check")

    assert code == 1
    colour = type_entry(report, "colour_enum")
    assert len(colour["drift"]) == 1
    assert "'green'" in colour["drift"][0]
    assert "deprecated in the database but not in the code" in colour["drift"][0]


@pytest.mark.django_db
def test_enum_status__deprecated_in_code_only__drift_until_recorded():
    with modify_settings(INSTALLED_APPS={"append": "tests.statusapp"}):
        execute(sql.SQL("CREATE TYPE statusapp_plan_enum AS ENUM ('basic', 'legacy', 'beta')"))
        report, code = status("--check")
        recorded = json.dumps({"betintel": {"deprecated": {"legacy": "basic"}}})
        execute(sql.SQL("COMMENT ON TYPE statusapp_plan_enum IS {}").format(
            sql.Literal(recorded)
        ))
        after, code_after = status("--check")

    plan = type_entry(report, "statusapp_plan_enum")
    assert code == 1
    assert plan["choices"] == "tests.statusapp.models.Plan"
    assert value_entry(plan, "legacy")["state"] == "deprecated"
    assert len(plan["drift"]) == 1
    assert "'legacy'" in plan["drift"][0]
    assert "is deprecated in the code" in plan["drift"][0]
    assert "but not in the database" in plan["drift"][0]
    assert code_after == 0
    assert type_entry(after, "statusapp_plan_enum")["drift"] == []


@pytest.mark.django_db
def test_enum_status__feature_flag_unset__flagged_value_shown_off(settings):
    settings.FEATURE_FLAGS = []

    report, _ = status()
    out, _, _ = run_command("enum_status")

    satin = value_entry(type_entry(report, "finish_enum"), "satin")
    assert satin["state"] == "flagged"
    assert satin["flag"] == "enable_satin"
    assert satin["flag_on"] is False
    assert "Feature flags on: none." in out
    assert "enable_satin (off)" in out


@pytest.mark.django_db
def test_enum_status__feature_flag_set__flagged_value_shown_on(settings):
    settings.FEATURE_FLAGS = ["enable_satin"]

    report, _ = status()
    out, _, _ = run_command("enum_status")

    satin = value_entry(type_entry(report, "finish_enum"), "satin")
    assert (satin["state"], satin["flag_on"]) == ("flagged", True)
    assert value_entry(type_entry(report, "finish_enum"), "matte")["flag_on"] is None
    assert "Feature flags on: enable_satin." in out
    assert "enable_satin (on)" in out


def test_enum_status__unknown_database_alias__clear_error():
    out, err, code = run_command("enum_status", "--database", "nowhere")

    assert code == 1
    assert "'nowhere' is not configured" in err
    assert "--database" in err


def test_enum_status__unknown_database_alias__no_traceback_on_the_command_line():
    # The suite's own settings (the site's, or the engine's alone), as pytest-django named them.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
    finished = subprocess.run(
        [sys.executable, "manage.py", "enum_status", "--database", "nowhere"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert "Database alias 'nowhere' is not configured" in finished.stderr


def test_enum_status__help__on_the_command_and_every_argument():
    from betintel.enums.management.commands.enum_status import Command

    parser = Command().create_parser("manage.py", "enum_status")
    own = [
        action for action in parser._actions
        if {"--check", "--json", "--database", "--counts"} & set(action.option_strings)
    ]

    assert Command.help
    assert len(own) == 4
    assert all(action.help for action in own)


@pytest.mark.django_db
def test_enum_status__counts_none__no_rows():
    make_paints(matte=2)

    report, _ = status("--counts", "none")

    matte = value_entry(type_entry(report, "finish_enum"), "matte")
    assert (matte["rows"], matte["rows_estimated"]) == (None, False)


def test_code_types__array_of_enum_field__type_found_through_its_base():
    from django.apps.registry import Apps
    from django.contrib.postgres.fields import ArrayField
    from django.db import models

    from betintel.enums import EnumField
    from betintel.enums.report import code_types

    registry = Apps(["tests.enumapp"])

    class Tagged(models.Model):
        tags = ArrayField(EnumField(Finish, type_name="finish_enum"), default=list)

        class Meta:
            app_label = "enumapp"
            apps = registry

    found = code_types(app_registry=registry)

    assert "enumapp.Tagged.tags" in found["finish_enum"].field_labels
    assert found["finish_enum"].choices == "tests.enumapp.models.Finish"
