"""``betintel.enums.describe``: one reading of a choices class, used by the field, the checks,
the report, the API and the demo data."""

from __future__ import annotations

import json

from django.db import models

from betintel.enums import EnumField, MemberState, deprecated, describe, flagged
from tests.enumapp.models import Finish


class Grade(models.TextChoices):
    __empty__ = "(none)"
    DRAFT = "draft", "Draft"
    FINAL = "final", flagged("Final", flag="enable_final")
    OLD = "old", deprecated("Old", replacement="draft")
    GONE = "gone", deprecated("Gone")


def test_describe__each_kind_of_member__value_label_state_flag_and_replacement():
    described = describe(Grade)

    assert [
        (m.name, m.value, m.label, m.state, m.flag, m.replacement) for m in described.members
    ] == [
        ("DRAFT", "draft", "Draft", MemberState.ACTIVE, None, None),
        ("FINAL", "final", "Final", MemberState.FLAGGED, "enable_final", None),
        ("OLD", "old", "Old", MemberState.DEPRECATED, None, "draft"),
        ("GONE", "gone", "Gone", MemberState.DEPRECATED, None, None),
    ]
    assert described.path == f"{__name__}.Grade"


def test_describe__blank_choice__no_member_of_the_type():
    assert describe(Grade).values == ["draft", "final", "old", "gone"]
    assert None in dict(Grade.choices)  # Django still offers the blank choice in forms


def test_describe__deprecations_and_flags__as_the_field_keeps_them():
    described = describe(Grade)
    field = EnumField(Grade, type_name="grade_enum")

    assert described.deprecated == {"old": "draft", "gone": None}
    assert described.flags == {"final": "enable_final"}
    assert (field.enum_values, field.enum_deprecated, field.enum_flags) == (
        described.values, described.deprecated, described.flags,
    )


def test_writable__flag_off_then_on__deprecated_never():
    described = describe(Grade)

    assert [m.value for m in described.writable(frozenset())] == ["draft"]
    assert [m.value for m in described.writable(frozenset({"enable_final"}))] == [
        "draft", "final",
    ]


def test_writable__no_flags_given__the_flags_on_now(settings):
    settings.FEATURE_FLAGS = ["enable_satin"]
    assert [m.value for m in describe(Finish).writable()] == ["matte", "gloss", "satin"]

    settings.FEATURE_FLAGS = []
    assert [m.value for m in describe(Finish).writable()] == ["matte", "gloss"]


def test_member__lookup_by_value__member_or_none():
    described = describe(Grade)

    assert described.member("old").replacement == "draft"
    assert described.member("nope") is None


def test_member_state__plain_strings_in_json_and_text():
    assert json.dumps([MemberState.FLAGGED]) == '["flagged"]'
    assert f"{MemberState.DEPRECATED}" == "deprecated"
    assert [state.value for state in MemberState] == ["active", "flagged", "deprecated", "unknown"]
