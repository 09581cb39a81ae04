"""Locks for enum migrations: bounded waits, retries with backoff, blockers named.

A statement waiting for an ACCESS EXCLUSIVE lock makes every later reader of the table queue
behind it. So each attempt runs under ``SET LOCAL lock_timeout`` (``ENUM_LOCK_TIMEOUT``) inside
a savepoint: when it times out, the savepoint rolls back (releasing whatever the attempt took),
the queue behind us drains while we back off, and we try again, up to ``ENUM_LOCK_RETRIES``
times. Giving up raises ``LockNotAcquired`` naming each session that holds a lock on the tables.
Statements that lock only the enum type (``ADD VALUE``, ``RENAME VALUE``, ``COMMENT``) run the
same way, so a migration never waits without bound behind another transaction.

``migrate_lock`` is the database-wide advisory lock ``migrate`` holds while it runs, so that two
``migrate`` processes take turns instead of applying the same migrations twice.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db import DatabaseError, Error, transaction

from . import conf
from . import sql as enum_sql
from .errors import LockNotAcquired, sqlstate
from .introspection import Table, advisory_holder, blocking_sessions

#: SQLSTATEs after which a new attempt may succeed: lock_not_available, deadlock_detected.
RETRYABLE = {"55P03", "40P01"}

#: First pause between attempts, doubled each time up to ``MAX_BACKOFF`` seconds.
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


def timeout_seconds(value: str | None = None) -> float:
    """``ENUM_LOCK_TIMEOUT`` (or ``value``) in seconds; a bare number is milliseconds."""
    if value is None:
        return conf.lock_timeout_ms() / 1000
    return conf.parse_duration_ms("ENUM_LOCK_TIMEOUT", value) / 1000


def backoff(attempt: int) -> float:
    """Longest pause after failed attempt number ``attempt`` (0-based)."""
    return min(FIRST_BACKOFF * 2**attempt, MAX_BACKOFF)


def budget_seconds() -> float:
    """Longest time one locked statement can wait in all, pauses included."""
    retries = conf.lock_retries()
    return (retries + 1) * timeout_seconds() + sum(backoff(n) for n in range(retries))


def lock_tables(schema_editor, tables: Sequence[Table], purpose: str) -> None:
    """Take ACCESS EXCLUSIVE locks on ``tables`` in one statement, held to the transaction's end.

    Taking them all at once means no table is held while another is waited for. Call it inside
    a transaction (``transaction.atomic``); outside one the locks would end with the statement.
    """
    if tables:
        run_locked(schema_editor, enum_sql.lock_tables(t.identifier for t in tables), purpose,
                   tables=tables)


def run_locked(
    schema_editor, statement, purpose: str, tables: Sequence[Table] = (),
    type_name: str | tuple[str, str] | None = None,
) -> None:
    """Run ``statement``, which locks ``tables`` or the type ``type_name`` (a name, or
    ``(schema, name)``), under the lock budget; see the module doc."""
    connection = schema_editor.connection
    timeout = conf.lock_timeout()
    if schema_editor.collect_sql:
        enum_sql.execute(schema_editor, enum_sql.set_lock_timeout(timeout))
        enum_sql.execute(schema_editor, statement)
        return
    retries = conf.lock_retries()
    started = time.monotonic()
    for attempt in range(retries + 1):
        try:
            with transaction.atomic(using=connection.alias):
                _set_lock_timeout(connection, timeout)
                enum_sql.execute(schema_editor, statement)
            return
        except DatabaseError as exc:
            if sqlstate(exc) not in RETRYABLE:
                raise
            if attempt == retries:
                blockers = blocking_sessions(connection, [t.oid for t in tables], type_name)
                what = [str(table) for table in tables]
                what += [f"enum type {_type_label(type_name)}"] if type_name else []
                raise LockNotAcquired(
                    _give_up_message(what, purpose, timeout, attempt + 1,
                                     time.monotonic() - started, blockers),
                    blockers,
                ) from exc
        # Jitter keeps several waiting migrations from retrying in step.
        time.sleep(backoff(attempt) * random.uniform(0.5, 1.0))


def keep_lock_timeout(connection) -> Callable[[], None]:
    """Remember this transaction's ``lock_timeout``; the returned function puts it back."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (previous,) = cursor.fetchone()

    def restore() -> None:
        _set_lock_timeout(connection, previous)

    return restore


@contextlib.contextmanager
def under_lock_timeout(connection):
    """Run the block under ``ENUM_LOCK_TIMEOUT``, then put back the transaction's own value.

    For a block that takes its main locks with ``run_locked`` and then runs statements that wait
    for locks of their own (a rewrite also locks indexes, types, the other side of a foreign
    key): each of those waits is bounded like one attempt, whatever ``run_locked`` leaves set.
    Nothing is put back when the block fails; rolling back its transaction or savepoint does.
    """
    restore = keep_lock_timeout(connection)
    _set_lock_timeout(connection, conf.lock_timeout())
    yield
    restore()


def _type_label(type_name: str | tuple[str, str]) -> str:
    return type_name[1] if isinstance(type_name, tuple) else type_name


def _set_lock_timeout(connection, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])


def _give_up_message(
    what: list[str], purpose: str, timeout: str, attempts: int, waited: float,
    blockers: list[dict],
) -> str:
    names = ", ".join(what)
    if blockers:
        who = "; ".join(_describe_blocker(blocker) for blocker in blockers)
        holders = f"Sessions holding locks on them: {who}."
    else:
        holders = "The sessions that held them have ended since; running migrate again may pass."
    return (
        f"Could not lock {names} for {purpose}: {attempts} attempts of lock_timeout={timeout} "
        f"({waited:.1f}s in all) were refused, so nothing was changed. {holders} Let those "
        "transactions finish (or end them with pg_terminate_backend(pid)), then run migrate "
        "again; ENUM_LOCK_TIMEOUT and ENUM_LOCK_RETRIES set how long migrate waits."
    )


def _describe_blocker(blocker: dict) -> str:
    age = blocker["transaction_age"]
    age_text = _age(age) if isinstance(age, timedelta) else "no open transaction"
    return (
        f"pid {blocker['pid']} ({blocker['state']}, transaction open for {age_text}, "
        f"query {blocker['query']!r}, on {', '.join(blocker['objects'])})"
    )


def _age(age: timedelta) -> str:
    seconds = age.total_seconds()
    return f"{seconds:.1f}s" if seconds < 120 else str(timedelta(seconds=round(seconds)))


#: Key of the session-level advisory lock ``migrate`` holds while it runs ("betintel" in ASCII):
#: advisory locks belong to one database, so one fixed key serialises migrate per database.
MIGRATE_LOCK_KEY = 0x626574696E74656C


@contextlib.contextmanager
def migrate_lock(connection, on_wait: Callable[[int | None], None] | None = None):
    """Hold the database-wide ``migrate`` lock for the block; wait for it if another has it.

    The lock is session-level, so transactions (atomic or not) begun and ended inside the block
    do not release it. ``on_wait(pid)`` is called, with the pid of the holder if it can be
    seen, before waiting. Yields how long it waited, in seconds (0 when it did not wait).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        (acquired,) = cursor.fetchone()
        waited = 0.0
        if not acquired:
            if on_wait is not None:
                on_wait(advisory_holder(connection, MIGRATE_LOCK_KEY))
            started = time.monotonic()
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            waited = time.monotonic() - started
    try:
        yield waited
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
        except Error:
            pass  # the session is gone, and its session-level locks went with it
