"""``GET /api/enums/``: writable values for everyone, every value with its state for staff.

Shown on ``tests.enumapp``'s ``Finish`` (``satin`` flagged ``enable_satin``, ``metallic``
deprecated); bets' types in the API are tested in ``test_site_integration``.
"""

from __future__ import annotations

import pytest
from django.test import modify_settings
from django.urls import reverse

from tests.enumapp.models import Finish

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
    finishes = values(payload, "finish_enum")
    assert list(finishes) == ["matte", "gloss"]
    assert finishes["matte"] == {"value": "matte", "label": "Matte"}
    assert {"colour_enum", "finish_enum"} <= set(payload["enums"])


@pytest.mark.django_db
def test_api__anonymous__flagged_value_listed_while_its_flag_is_on(client, settings):
    settings.FEATURE_FLAGS = ["enable_satin"]

    payload = client.get(URL).json()

    assert list(values(payload, "finish_enum")) == ["matte", "gloss", "satin"]
    assert values(payload, "finish_enum")["satin"] == {"value": "satin", "label": "Satin"}


@pytest.mark.django_db
def test_api__logged_in_but_not_staff__public_view(client, django_user_model, settings):
    settings.FEATURE_FLAGS = []
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))

    payload = client.get(URL).json()

    assert "satin" not in values(payload, "finish_enum")
    assert "feature_flags" not in payload


@pytest.mark.django_db
def test_api__staff__every_value_with_state_and_flags(client, staff, settings):
    settings.FEATURE_FLAGS = ["some_other_flag"]
    client.force_login(staff)

    payload = client.get(URL).json()

    assert payload["feature_flags"] == ["some_other_flag"]
    finishes = values(payload, "finish_enum")
    assert list(finishes) == [member.value for member in Finish]
    assert finishes["satin"] == {
        "value": "satin", "label": "Satin", "state": "flagged", "writable": False,
        "flag": "enable_satin", "flag_on": False, "replacement": None,
    }
    assert finishes["matte"]["state"] == "active" and finishes["matte"]["writable"] is True


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
