"""Feature flags from the project's own flag system (``ENUM_FEATURE_FLAGS_SOURCE``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from betintel.enums import conf
from tests.enumapp.models import Paint

SOURCE = f"{__name__}.flags_on"

#: The state of this test module's stand-in for a project's flag system.
switched_on: list[str] = []


def flags_on() -> list[str]:
    """A project's flag system: the names of the flags that are on right now."""
    return list(switched_on)


@pytest.fixture
def flag_system(settings):
    """The flag source set, ``FEATURE_FLAGS`` naming another flag, and no flag switched on."""
    settings.ENUM_FEATURE_FLAGS_SOURCE = SOURCE
    settings.FEATURE_FLAGS = ["only_in_settings"]
    switched_on.clear()
    yield switched_on
    switched_on.clear()


def test_flag_source__unset__feature_flags_setting_is_used(settings):
    settings.FEATURE_FLAGS = "enable_satin, other"

    assert conf.feature_flags() == {"enable_satin", "other"}


def test_flag_source__set__its_answer_replaces_feature_flags(flag_system):
    flag_system.append("enable_satin")

    assert conf.feature_flags() == {"enable_satin"}


def test_flag_source__asked_on_every_read__a_flag_switched_off_takes_effect_at_once(flag_system):
    flag_system.append("enable_satin")
    before = conf.feature_flags()
    flag_system.clear()

    assert before == {"enable_satin"} and conf.feature_flags() == frozenset()


def test_flag_source__a_callable_object_works_as_well_as_a_dotted_path(settings):
    settings.ENUM_FEATURE_FLAGS_SOURCE = lambda: ("a", " b ", "")

    assert conf.feature_flags() == {"a", "b"}


@pytest.mark.django_db
def test_flag_source__decides_writes__flagged_value_accepted_only_while_on(flag_system):
    with pytest.raises(ValidationError, match="enable_satin"):
        Paint(name="x", finish="satin").full_clean()
    flag_system.append("enable_satin")

    Paint(name="x", finish="satin").full_clean()


@pytest.mark.django_db
def test_flag_source__decides_the_api(client, flag_system):
    flag_system.append("enable_satin")

    values = [item["value"] for item in client.get("/api/enums/").json()["enums"]["finish_enum"]
              ["values"]]

    assert "satin" in values


def test_flag_source__cannot_be_imported__error_names_the_setting(settings):
    settings.ENUM_FEATURE_FLAGS_SOURCE = "myproject.flags.nowhere"

    with pytest.raises(ImproperlyConfigured, match="ENUM_FEATURE_FLAGS_SOURCE='myproject.flags"):
        conf.feature_flags()
