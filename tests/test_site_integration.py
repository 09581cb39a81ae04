"""The engine inside the site: its API and ``enum_status`` on bets' types, and what it announces
recorded in audit's log (refused writes, a migration rolled back).

The engine's behaviour itself is tested on its tiny test apps (``test_api``,
``test_enum_status``, ``test_validation``, ``test_migrate_roundtrip``); these tests keep what
is the site's: its real types, and audit's receivers turning the engine's signals into entries.
"""

from __future__ import annotations

import json

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import RequestFactory

from audit.models import AuditAction, AuditLog
from bets.models import Bet, BetType
from tests.enumapp.models import Finish, Paint
from tests.helpers import enum_labels, run_command
from tests.test_migrate_roundtrip import MigrationPackage

API_URL = "/api/enums/"
VALUE_KEYS = {
    "value", "label", "in_code", "in_db", "state", "flag", "flag_on", "rows", "rows_estimated",
}


def api_values(payload: dict, type_name: str) -> dict[str, dict]:
    return {item["value"]: item for item in payload["enums"][type_name]["values"]}


@pytest.mark.django_db
def test_api__anonymous__bets_writable_values_with_labels_only(client, settings):
    settings.FEATURE_FLAGS = []

    payload = client.get(API_URL).json()

    bet_types = api_values(payload, "bet_type_enum")
    assert list(bet_types) == ["h2h", "spreads", "totals", "player_points", "player_rebounds"]
    assert bet_types["h2h"] == {"value": "h2h", "label": "Moneyline"}
    assert {"sport_enum", "bet_status_enum"} <= set(payload["enums"])


@pytest.mark.django_db
def test_api__staff__every_bet_type_with_state_and_flags(client, django_user_model, settings):
    settings.FEATURE_FLAGS = ["some_other_flag"]
    client.force_login(django_user_model.objects.create_user("operator", is_staff=True))

    payload = client.get(API_URL).json()

    bet_types = api_values(payload, "bet_type_enum")
    assert list(bet_types) == [member.value for member in BetType]
    assert bet_types["player_assists"] == {
        "value": "player_assists", "label": "Player Assists", "state": "flagged",
        "writable": False, "flag": "enable_player_assists", "flag_on": False,
        "replacement": None,
    }
    assert bet_types["h2h"]["state"] == "active" and bet_types["h2h"]["writable"] is True


def _status_type(report: dict, type_name: str) -> dict:
    return next(entry for entry in report["enums"] if entry["type"] == type_name)


def _status_value(entry: dict, value: str) -> dict:
    return next(item for item in entry["values"] if item["value"] == value)


@pytest.mark.django_db
def test_enum_status__site_database__bets_and_audit_types_ok_and_exit_0():
    Bet.objects.bulk_create(
        Bet(sport="soccer", bet_type=bet_type, selection="x", odds="2.000", stake="1.00")
        for bet_type in ["h2h", "h2h", "h2h", "totals"]
    )

    out, err, code = run_command("enum_status", "--json", "--check")

    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    bet_type = _status_type(report, "bet_type_enum")
    assert bet_type["choices"] == "bets.models.BetType"
    assert bet_type["columns"] == ["bets_bet.bet_type"]
    assert [item["value"] for item in bet_type["values"]] == [member.value for member in BetType]
    assert all(set(item) == VALUE_KEYS for item in bet_type["values"])
    assert _status_value(bet_type, "h2h") == {
        "value": "h2h", "label": "Moneyline", "in_code": True, "in_db": True,
        "state": "active", "flag": None, "flag_on": None, "rows": 3, "rows_estimated": False,
    }
    assert _status_value(bet_type, "totals")["rows"] == 1
    assert _status_value(bet_type, "spreads")["rows"] == 0
    assert {"sport_enum", "bet_status_enum", "auditactionenum"} <= {
        entry["type"] for entry in report["enums"]
    }


@pytest.mark.django_db
def test_enum_status__text__bets_types_table_and_verdict():
    out, err, code = run_command("enum_status")

    assert code == 0
    assert "bet_type_enum  (bets.models.BetType)" in out
    assert "columns: bets_bet.bet_type" in out
    assert any(line.split()[:2] == ["h2h", "Moneyline"] for line in out.splitlines())
    assert "enable_player_assists (off)" in out
    assert "OK: the code and the database agree" in out


class PaintForm(forms.ModelForm):
    class Meta:
        model = Paint
        fields = ["name", "finish"]


def _refusals(value: str):
    return AuditLog.objects.filter(action=AuditAction.INVALID_ENUM_VALUE, details__value=value)


@pytest.mark.django_db
def test_refused_write__audited_with_model_field_value_reason_and_type(settings):
    settings.FEATURE_FLAGS = []

    with pytest.raises(ValidationError):
        Paint(name="x", finish="chrome").full_clean()

    entry = _refusals("chrome").get()
    assert entry.details == {
        "model": "enumapp.Paint",
        "field": "finish",
        "value": "chrome",
        "reason": "unknown",
        "type": "finish_enum",
    }


@pytest.mark.django_db
def test_refused_writes__form_and_admin__each_audited_once_with_its_reason(settings):
    settings.FEATURE_FLAGS = []
    request = RequestFactory().get("/admin/enumapp/paint/add/")
    request.user = User(is_staff=True, is_superuser=True)
    admin_form = admin.ModelAdmin(Paint, admin.AdminSite()).get_form(request)

    assert not PaintForm({"name": "x", "finish": Finish.METALLIC}).is_valid()
    assert not admin_form({"name": "x", "finish": "satin"}).is_valid()

    assert [entry.details["reason"] for entry in _refusals("metallic")] == ["deprecated"]
    assert [entry.details["reason"] for entry in _refusals("satin")] == ["flag_off"]


@pytest.mark.django_db
def test_accepted_write__nothing_audited():
    Paint(name="x", finish=Finish.GLOSS).full_clean()

    assert not AuditLog.objects.filter(action=AuditAction.INVALID_ENUM_VALUE).exists()


@pytest.fixture
def package(tmp_path, settings):
    """``enumapp``'s migrations in a temporary package, migrated back to its real leaf after."""
    package = MigrationPackage(tmp_path, settings)
    yield package
    call_command("migrate", "enumapp", package.real_leaf, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_migrate__value_added_and_used_in_one_migration__rolled_back_without_audit_entry(
    package,
):
    package.add(
        "0901_add_and_use_orange",
        "enum_ops.AddEnumValue(name='colour_enum', value='orange')",
        "migrations.RunSQL(\"INSERT INTO enumapp_swatch (colour, name) VALUES ('orange', 'o')\")",
    )

    _out, err, code = run_command("migrate", "enumapp")

    assert code == 1
    assert "rolled back: nothing of it was applied" in err
    assert "orange" not in enum_labels("colour_enum")
    assert not AuditLog.objects.filter(details__value="orange").exists()
