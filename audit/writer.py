"""Writes audit entries as links of the hash chain, and holds those the log cannot take yet.

Every entry is written in the transaction of the change it records: a migration that rolls
back leaves no entry. Writers take one transaction-level advisory lock, then read the last
digest, so links are made one at a time and in id order, across processes; the lock is held
until the writing transaction ends.

Before the log can take an entry (the audit table or the entry's action value does not exist
yet, or the value was added by the same, uncommitted transaction), the entry is held in
``audit_auditlog_pending``, a small table created on demand in that same transaction. Held
entries move into the log, in order, before the next entry is written and after every
``migrate``; the holding table is dropped once it is empty.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import DatabaseError, connections, transaction
from psycopg import sql

from betintel.enums.errors import sqlstate

from . import chain

#: The advisory lock (two-int key space) that serialises links of the chain: 'audi', 'tlog'.
CHAIN_LOCK = (0x61756469, 0x746C6F67)

#: Where entries wait until the log can take them.
PENDING_TABLE = "audit_auditlog_pending"

#: Why the log may refuse an entry for now: no such table or column (its migrations are
#: behind), no such enum value yet, or a value added by this very transaction (PostgreSQL
#: allows its use only after commit).
NOT_YET = {"42P01", "42703", "22P02", "55P04"}


def append(entry, using: str) -> None:
    """Insert ``entry`` (an unsaved ``AuditLog``) as the next link; held entries go first."""
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        lock(connection)
        _insert(connection, entry, release_held_first=True)


def record(using: str, action: str, message: str, details: dict,
           created_at: datetime | None = None) -> None:
    """Record an entry in the current transaction, or hold it while the log cannot take it."""
    from django.utils import timezone

    from .models import AuditLog

    entry = AuditLog(action=action, message=message, details=details,
                     created_at=created_at or timezone.now())
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        lock(connection)
        if not release_held_locked(connection):
            _hold(connection, entry)  # behind entries still waiting: keep their order
            return
        try:
            with transaction.atomic(using=using):
                _insert(connection, entry)
        except DatabaseError as exc:
            if sqlstate(exc) not in NOT_YET:
                raise
            _hold(connection, entry)


def release_held(using: str) -> bool:
    """Move held entries into the log, in order, as far as it can take them.

    True when no entry is left waiting.
    """
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        lock(connection)
        return release_held_locked(connection)


def lock(connection) -> None:
    """Take the chain's lock until the end of the current transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", CHAIN_LOCK)


def release_held_locked(connection) -> bool:
    """``release_held`` for a caller that holds the chain's lock."""
    from .models import AuditLog

    log_table = AuditLog._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s), to_regclass(%s)",
                       [connection.ops.quote_name(PENDING_TABLE),
                        connection.ops.quote_name(log_table)])
        pending, log = cursor.fetchone()
        if pending is None:
            return True
        if log is None:
            return False
        cursor.execute(sql_text(
            connection, "SELECT id, action, message, details::text, created_at, actor_id "
            "FROM {} ORDER BY id", PENDING_TABLE,
        ))
        held = cursor.fetchall()
    moved = []
    for held_id, action, message, details_text, created_at, actor_id in held:
        entry = AuditLog(action=action, message=message, details=json.loads(details_text),
                         created_at=created_at, actor_id=actor_id)
        try:
            with transaction.atomic(using=connection.alias):
                _insert(connection, entry)
        except DatabaseError as exc:
            if sqlstate(exc) not in NOT_YET:
                raise
            break  # later entries wait behind this one, in order
        moved.append(held_id)
    with connection.cursor() as cursor:
        if len(moved) == len(held):
            cursor.execute(sql_text(connection, "DROP TABLE {}", PENDING_TABLE))
            return True
        cursor.execute(sql_text(connection, "DELETE FROM {} WHERE id = ANY(%s)", PENDING_TABLE),
                       [moved])
    return False


def _insert(connection, entry, release_held_first: bool = False) -> None:
    """Link ``entry`` to the last digest and insert it (the caller holds the chain's lock)."""
    held, previous, entry_id, details_text, created_at_text = _prepare(connection, entry)
    if held and release_held_first:
        release_held_locked(connection)
        held, previous, entry_id, details_text, created_at_text = _prepare(connection, entry)
    entry.pk = entry_id
    entry.previous_digest = previous or ""
    entry.digest = chain.digest(
        entry.previous_digest, entry_id, str(entry.action), str(entry.message), details_text,
        created_at_text, entry.actor_id,
    )
    entry.save_base(using=connection.alias, force_insert=True)


def _prepare(connection, entry) -> tuple:
    """In one statement: whether entries are held, the last digest, the new entry's id, and
    its details and time as the database will store them (the digest covers those)."""
    from .models import AuditLog

    table = AuditLog._meta.db_table
    encoder = AuditLog._meta.get_field("details").encoder
    with connection.cursor() as cursor:
        cursor.execute(
            sql_text(
                connection,
                "SELECT to_regclass(%s) IS NOT NULL, "
                "(SELECT digest FROM {} ORDER BY id DESC LIMIT 1), "
                "nextval(pg_get_serial_sequence(%s, 'id')), %s::jsonb::text, "
                + chain.UTC_TEXT.format("%s::timestamptz"),
                table,
            ),
            [connection.ops.quote_name(PENDING_TABLE), connection.ops.quote_name(table),
             json.dumps(entry.details, cls=encoder), entry.created_at],
        )
        return cursor.fetchone()


def _hold(connection, entry) -> None:
    """Keep ``entry`` in the holding table (created on demand) of the current transaction."""
    encoder = type(entry)._meta.get_field("details").encoder
    with connection.cursor() as cursor:
        cursor.execute(sql_text(
            connection,
            "CREATE TABLE IF NOT EXISTS {} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "action text NOT NULL, message text NOT NULL, details jsonb NOT NULL, "
            "created_at timestamptz NOT NULL, actor_id bigint)",
            PENDING_TABLE,
        ))
        cursor.execute(
            sql_text(connection, "INSERT INTO {} (action, message, details, created_at, actor_id) "
                 "VALUES (%s, %s, %s::jsonb, %s, %s)", PENDING_TABLE),
            [str(entry.action), entry.message, json.dumps(entry.details, cls=encoder),
             entry.created_at, entry.actor_id],
        )


def sql_text(connection, template: str, *identifiers: str) -> str:
    """``template`` with each ``{}`` filled by a quoted identifier, as a string to execute."""
    statement = sql.SQL(template).format(*(sql.Identifier(name) for name in identifiers))
    connection.ensure_connection()  # the driver's connection decides how names are quoted
    return statement.as_string(connection.connection)
