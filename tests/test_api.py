"""``GET /api/enums/``: writable values for everyone, every value with its state for staff."""

from __future__ import annotations

import pytest
from django.test import modify_settings
from django.urls import reverse

from bets.models import BetType

URL = "/api/enums/"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operator", password="pw", is_staff=True)


def test_api_url__named_in_the_engines_namespace():
    assert reverse("enums:api") == URL


def values(payload: dict, type_name: str) -> dict[str, dict]:
    return {item["value"]: item for item in payload["enums"][type_name]["values"]}


@pytest.mark.django_db
def test_api__anonymous__writable_values_with_labels_only(client, settings):
    settings.FEATURE_FLAGS = []

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "Cookie" in response["Vary"]
    payload = response.json()
    assert set(payload) == {"enums"}
    bet_types = values(payload, "bet_type_enum")
    assert list(bet_types) == ["h2h", "spreads", "totals", "player_points", "player_rebounds"]
    assert bet_types["h2h"] == {"value": "h2h", "label": "Moneyline"}
    assert {"sport_enum", "bet_status_enum"} <= set(payload["enums"])


@pytest.mark.django_db
def test_api__anonymous__flagged_value_listed_while_its_flag_is_on(client, settings):
    settings.FEATURE_FLAGS = ["enable_player_assists"]

    payload = client.get(URL).json()

    assert list(values(payload, "bet_type_enum")) == [member.value for member in BetType]
    assert values(payload, "bet_type_enum")["player_assists"] == {
        "value": "player_assists", "label": "Player Assists",
    }


@pytest.mark.django_db
def test_api__logged_in_but_not_staff__public_view(client, django_user_model, settings):
    settings.FEATURE_FLAGS = []
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))

    payload = client.get(URL).json()

    assert "player_assists" not in values(payload, "bet_type_enum")
    assert "feature_flags" not in payload


@pytest.mark.django_db
def test_api__staff__every_value_with_state_and_flags(client, staff, settings):
    settings.FEATURE_FLAGS = ["some_other_flag"]
    client.force_login(staff)

    payload = client.get(URL).json()

    assert payload["feature_flags"] == ["some_other_flag"]
    bet_types = values(payload, "bet_type_enum")
    assert list(bet_types) == [member.value for member in BetType]
    assert bet_types["player_assists"] == {
        "value": "player_assists", "label": "Player Assists", "state": "flagged",
        "writable": False, "flag": "enable_player_assists", "flag_on": False,
        "replacement": None,
    }
    assert bet_types["h2h"]["state"] == "active" and bet_types["h2h"]["writable"] is True


@pytest.mark.django_db
def test_api__deprecated_value__hidden_from_public_shown_to_staff(client, staff, settings):
    settings.FEATURE_FLAGS = ["enable_beta_plan"]
    with modify_settings(INSTALLED_APPS={"append": "tests.statusapp"}):
        public = client.get(URL).json()
        client.force_login(staff)
        internal = client.get(URL).json()

    assert list(values(public, "statusapp_plan_enum")) == ["basic", "beta"]
    legacy = values(internal, "statusapp_plan_enum")["legacy"]
    assert (legacy["state"], legacy["writable"], legacy["replacement"]) == (
        "deprecated", False, "basic",
    )
    assert values(internal, "statusapp_plan_enum")["beta"]["flag_on"] is True


@pytest.mark.django_db
def test_api__post__method_not_allowed(client):
    response = client.post(URL, {})

    assert response.status_code == 405
