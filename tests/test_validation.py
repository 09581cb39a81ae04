"""New writes of unknown, deprecated and flag-off values are refused, logged and announced.

``tests.enumapp.models.Finish`` has one member of each kind: ``matte``/``gloss`` (active),
``satin`` (flagged ``enable_satin``) and ``metallic`` (deprecated, replacement ``gloss``).
Each refusal is announced by ``signals.invalid_enum_value``, heard here by a receiver of the
test's own; that the site's audit log records it is tested in ``test_site_integration``.
"""

from __future__ import annotations

import logging

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.test import RequestFactory

from betintel.enums.signals import invalid_enum_value
from tests.enumapp.models import Finish, Paint

pytestmark = pytest.mark.django_db

#: Every refusal announced during the test (the signal's keyword arguments), in order.
_heard: list[dict] = []


@pytest.fixture(autouse=True)
def heard_refusals():
    """Listen to ``invalid_enum_value`` for the length of each test."""

    def receiver(sender, **kwargs) -> None:
        _heard.append({key: value for key, value in kwargs.items() if key != "signal"})

    _heard.clear()
    invalid_enum_value.connect(receiver, weak=False, dispatch_uid="tests.test_validation")
    yield
    invalid_enum_value.disconnect(dispatch_uid="tests.test_validation")
    _heard.clear()


class PaintForm(forms.ModelForm):
    class Meta:
        model = Paint
        fields = ["name", "finish"]


@pytest.fixture
def flags_off(settings):
    settings.FEATURE_FLAGS = []
    return settings


def _refusals(value: str) -> list[dict]:
    """The refusals of ``value`` announced so far."""
    return [refusal for refusal in _heard if refusal["value"] == value]


def _warnings(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "betintel.enums.validation" and record.levelno == logging.WARNING
    ]


def _insert_paint(finish: str) -> Paint:
    """A saved row holding ``finish``, as rows written before a deprecation hold it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO enumapp_paint (name, finish) VALUES ('old', %s) RETURNING id", [finish]
        )
        return Paint.objects.get(pk=cursor.fetchone()[0])


def test_full_clean__unknown_value__refused_logged_and_announced(caplog, flags_off):
    caplog.set_level(logging.WARNING, logger="betintel.enums")
    with pytest.raises(ValidationError) as raised:
        Paint(name="x", finish="chrome").full_clean()
    (message,) = raised.value.message_dict["finish"]
    assert message.startswith("Invalid finish 'chrome'")
    assert "matte, gloss" in message
    assert any(
        line.startswith("Invalid finish 'chrome' refused (unknown) on enumapp.Paint")
        for line in _warnings(caplog)
    )
    assert _refusals("chrome") == [{
        "model": "enumapp.Paint",
        "field": "finish",
        "value": "chrome",
        "reason": "unknown",
        "type_name": "finish_enum",
    }]


def test_full_clean__deprecated_value_on_new_object__refused_naming_the_replacement(
    caplog, flags_off
):
    caplog.set_level(logging.WARNING, logger="betintel.enums")
    with pytest.raises(ValidationError) as raised:
        Paint(name="x", finish=Finish.METALLIC).full_clean()
    (message,) = raised.value.message_dict["finish"]
    assert message == "Invalid finish 'metallic': it is deprecated; use 'gloss' instead."
    (refusal,) = _refusals("metallic")
    assert refusal["reason"] == "deprecated"
    assert _warnings(caplog)


def test_full_clean__flagged_value_with_flag_off__refused(caplog, flags_off):
    caplog.set_level(logging.WARNING, logger="betintel.enums")
    with pytest.raises(ValidationError) as raised:
        Paint(name="x", finish="satin").full_clean()
    (message,) = raised.value.message_dict["finish"]
    assert message.startswith("Invalid finish 'satin'") and "enable_satin" in message
    (refusal,) = _refusals("satin")
    assert refusal["reason"] == "flag_off"
    assert _warnings(caplog)


def test_full_clean__flagged_value_with_flag_on__accepted(settings):
    settings.FEATURE_FLAGS = ["enable_satin"]
    Paint(name="x", finish="satin").full_clean()
    assert not _refusals("satin")


def test_full_clean__active_value__accepted_without_refusal_or_warning(caplog):
    caplog.set_level(logging.WARNING, logger="betintel.enums")
    Paint(name="x", finish=Finish.GLOSS).full_clean()
    assert _heard == []
    assert not _warnings(caplog)


def test_existing_row_holding_deprecated_value__saved_unchanged__accepted_and_readable():
    paint = _insert_paint("metallic")
    paint.name = "renamed"
    paint.full_clean()
    paint.save()
    paint.refresh_from_db()
    assert paint.finish == "metallic" and paint.get_finish_display() == "Metallic"
    assert not _refusals("metallic")


def test_existing_row__changed_to_deprecated_value__refused():
    paint = _insert_paint("gloss")
    paint.finish = "metallic"
    with pytest.raises(ValidationError, match="Invalid finish 'metallic'"):
        paint.full_clean()
    assert len(_refusals("metallic")) == 1


def test_existing_row_holding_flag_off_value__saved_unchanged__accepted(flags_off):
    paint = _insert_paint("satin")
    paint.full_clean()
    assert not _refusals("satin")


def test_field_validate__unknown_value__refused_with_field_and_value_named(flags_off):
    field = Paint._meta.get_field("finish")
    with pytest.raises(ValidationError, match="Invalid finish 'x'"):
        field.validate("x", Paint())


def test_database__label_outside_the_type__refused():
    with (
        pytest.raises(DataError, match="invalid input value for enum finish_enum"),
        transaction.atomic(),
    ):
        Paint.objects.create(name="x", finish="chrome")


def _offered(form, name: str = "finish") -> list[str]:
    """The values the form's field offers once bound to the form (as rendering binds it)."""
    return [str(value) for value, _label in form[name].field.choices if value != ""]


def _rendered_options(form, name: str = "finish") -> list[str]:
    html = str(form[name])
    return [value for value in ("matte", "gloss", "satin", "metallic") if f'"{value}"' in html]


def test_form__new_object__offers_neither_deprecated_nor_flag_off_members(flags_off):
    form = PaintForm()
    assert _offered(form) == ["matte", "gloss"]
    assert _rendered_options(form) == ["matte", "gloss"]


def test_form__flag_switched_on__offers_the_flagged_member(settings):
    settings.FEATURE_FLAGS = []
    assert "satin" not in _offered(PaintForm())
    settings.FEATURE_FLAGS = ["enable_satin"]
    assert _offered(PaintForm()) == ["matte", "gloss", "satin"]


def test_form__existing_object_holding_deprecated_value__shows_it_and_saves_unchanged(
    flags_off,
):
    paint = _insert_paint("metallic")
    form = PaintForm(instance=paint)
    assert _offered(form) == ["matte", "gloss", "metallic"]
    assert 'value="metallic" selected' in str(form["finish"])
    bound = PaintForm({"name": "kept", "finish": "metallic"}, instance=paint)
    assert bound.is_valid(), bound.errors
    bound.save()
    assert Paint.objects.get(pk=paint.pk).name == "kept"
    assert not _refusals("metallic")


def test_form__new_object_posting_deprecated_value__refused_and_announced(caplog, flags_off):
    caplog.set_level(logging.WARNING, logger="betintel.enums")
    form = PaintForm({"name": "x", "finish": "metallic"})
    assert not form.is_valid()
    assert form.errors["finish"] == [
        "Invalid finish 'metallic': it is deprecated; use 'gloss' instead."
    ]
    assert len(_refusals("metallic")) == 1
    assert len(_warnings(caplog)) == 1


def test_form__unknown_value__refused_with_our_message(flags_off):
    form = PaintForm({"name": "x", "finish": "chrome"})
    assert not form.is_valid()
    assert form.errors["finish"][0].startswith("Invalid finish 'chrome'")
    assert len(_refusals("chrome")) == 1


def _admin_form(obj=None, data=None):
    request = RequestFactory().get("/admin/enumapp/paint/add/")
    request.user = User(is_staff=True, is_superuser=True)
    model_admin = admin.ModelAdmin(Paint, admin.AdminSite())
    form_class = model_admin.get_form(request, obj)
    return form_class(data, instance=obj) if data is not None else form_class(instance=obj)


def test_admin__add_form__offers_only_writable_members(flags_off):
    assert _offered(_admin_form()) == ["matte", "gloss"]


def test_admin__change_form_of_deprecated_row__shows_it(flags_off):
    paint = _insert_paint("metallic")
    assert "metallic" in _offered(_admin_form(paint))


def test_admin__posting_flag_off_value__refused_and_announced(flags_off):
    form = _admin_form(data={"name": "x", "finish": "satin"})
    assert not form.is_valid()
    assert form.errors["finish"][0].startswith("Invalid finish 'satin'")
    (refusal,) = _refusals("satin")
    assert refusal["reason"] == "flag_off"


def test_member_refusal__one_rule_for_validation_api_and_seeding():
    from betintel.enums.choices import Member
    from betintel.enums.validation import Refusal, member_refusal

    assert member_refusal(False, None, frozenset()) is None
    assert member_refusal(True, None, frozenset()) == Refusal.DEPRECATED
    assert member_refusal(False, "beta", frozenset()) == Refusal.FLAG_OFF
    assert member_refusal(False, "beta", frozenset({"beta"})) is None
    # An empty flag name (check enums.E009) can never be switched on: refused everywhere.
    assert member_refusal(False, "", frozenset({"beta"})) == Refusal.FLAG_OFF
    assert Member("x", "X", flag="").writable(frozenset({"beta"})) is False
