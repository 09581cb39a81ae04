"""The audit log is append-only in the database, and migrations leave entries."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditAction, AuditLog


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


@pytest.mark.django_db
def test_migrate__left_one_entry_per_enum_operation_with_details():
    entries = AuditLog.objects.filter(
        action=AuditAction.ENUM_VALUE_ADDED, details__type="bet_type_enum"
    )
    by_value = {entry.details["value"]: entry.details for entry in entries}
    assert by_value["player_assists"]["migration"] == "bets.0002_add_player_assists"
    assert by_value["player_assists"]["direction"] == "forwards"
    assert by_value["player_rebounds"]["migration"] == "bets.0003_add_player_rebounds"
    created = AuditLog.objects.filter(action=AuditAction.ENUM_TYPE_CREATED)
    assert created.filter(details__type="auditactionenum").count() == 1
    assert created.get(details__type="auditactionenum").details["migration"] == (
        "audit.0001_initial"
    )
