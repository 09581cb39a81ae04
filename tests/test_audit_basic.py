"""The audit log is append-only in the database, and migrations leave one entry per enum
operation. Each test writes the entries it looks at."""

from __future__ import annotations

import logging

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Max

from audit.models import AuditAction, AuditLog
from betintel.enums.operations import CreateEnumType
from betintel.enums.signals import EnumAction, enum_changed


@pytest.mark.django_db
def test_auditlog__update_and_delete__refused_by_the_database():
    entry = AuditLog.objects.create(action=AuditAction.BET_PLACED, message="placed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(message="changed")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditlog WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.message == "placed"


@pytest.mark.django_db
def test_auditlog__unknown_action__refused_by_the_enum_type():
    with (
        pytest.raises(DatabaseError, match="invalid input value for enum auditactionenum"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO audit_auditlog (action, message, details, created_at) "
            "VALUES ('NOT_AN_ACTION', '', '{}', now())"
        )


@pytest.mark.django_db(transaction=True)
def test_migrate__each_enum_operation_either_way__one_entry_with_type_value_migration_direction():
    """Unapplying and reapplying enumapp.0002_paint (a new type, then a deprecation in it)
    leaves exactly one entry per operation and direction, in the order they ran."""
    last = AuditLog.objects.aggregate(last=Max("id"))["last"] or 0
    try:
        call_command("migrate", "enumapp", "0001", verbosity=0)
    finally:
        call_command("migrate", "enumapp", verbosity=0)

    entries = AuditLog.objects.filter(id__gt=last).order_by("id")
    assert [
        (entry.action, entry.details["type"], entry.details["value"],
         entry.details["migration"], entry.details["direction"])
        for entry in entries
    ] == [
        ("ENUM_VALUE_UNDEPRECATED", "finish_enum", "metallic", "enumapp.0002_paint", "backwards"),
        ("ENUM_TYPE_DROPPED", "finish_enum", None, "enumapp.0002_paint", "backwards"),
        ("ENUM_TYPE_CREATED", "finish_enum", None, "enumapp.0002_paint", "forwards"),
        ("ENUM_VALUE_DEPRECATED", "finish_enum", "metallic", "enumapp.0002_paint", "forwards"),
    ]


def test_audit_check__every_enum_action_mapped__no_audit_E001():
    assert [message for message in run_checks() if message.id == "audit.E001"] == []


def test_audit_check__enum_action_without_audit_action__audit_E001(monkeypatch):
    from audit import receivers

    monkeypatch.delitem(receivers.ACTIONS, EnumAction.VALUE_RENAMED)

    errors = [message for message in run_checks() if message.id == "audit.E001"]

    assert len(errors) == 1
    assert "value_renamed" in errors[0].msg


@pytest.mark.django_db
def test_enum_changed__action_without_audit_action__logged_and_not_raised(caplog):
    before = AuditLog.objects.count()

    enum_changed.send(
        sender=CreateEnumType,
        action="value_reordered",
        type_name="bet_type_enum",
        value="h2h",
        details={"direction": "forwards", "migration": "bets.0009_reorder"},
        using=connection.alias,
    )

    assert AuditLog.objects.count() == before
    assert any(
        "value_reordered" in record.getMessage() and record.levelno == logging.ERROR
        for record in caplog.records
    )
