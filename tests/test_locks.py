"""Enum migrations beside live traffic: a second session holds a transaction open on the table.

The other sessions are real psycopg connections to the test database.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.db.migrations.state import ProjectState
from psycopg import sql

from betintel.enums import locks
from betintel.enums.errors import LockNotAcquired
from betintel.enums.operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    RemoveEnumValue,
)
from tests.helpers import apply_operations, catalog_snapshot, enum_labels, run_sql

pytestmark = pytest.mark.django_db(transaction=True)


def _session() -> psycopg.Connection:
    """Another backend on the test database, as an application server would hold one."""
    params = connection.get_connection_params()
    wanted = {"dbname", "user", "password", "host", "port"}
    return psycopg.connect(**{key: value for key, value in params.items() if key in wanted})


@pytest.fixture
def busy_table(scratch_types):
    """A type ``a, b, c`` (``c`` deprecated) and a table of it, read by an open transaction."""
    name, table = scratch_types("kind"), scratch_types("busy")
    apply_operations(
        "enumapp", ProjectState(), [CreateEnumType(name, ["a", "b", "c"]),
                                    DeprecateEnumValue(name, "c", "b")]
    )
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {} NOT NULL)", table, name)
    run_sql("INSERT INTO {} (kind) SELECT 'c' FROM generate_series(1, 50)", table)
    holder = _session()
    # The transaction is left open: the lock is held until the test ends it.
    holder.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    yield name, table, holder
    holder.close()


def test_add_value__other_session_holds_the_table__completes_at_once(busy_table, settings):
    settings.ENUM_LOCK_TIMEOUT = "5s"
    name, _table, _holder = busy_table
    started = time.monotonic()
    apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "d", before="c")])
    assert time.monotonic() - started < 1.0
    assert enum_labels(name) == ["a", "b", "d", "c"]


@pytest.mark.parametrize("atomic", [True, False])
def test_remove_value__other_session_holds_the_table__gives_up_in_budget_naming_it(
    busy_table, settings, atomic
):
    settings.ENUM_LOCK_TIMEOUT = "100ms"
    settings.ENUM_LOCK_RETRIES = 2
    name, table, holder = busy_table
    before = catalog_snapshot()
    started = time.monotonic()
    with pytest.raises(LockNotAcquired) as refused:
        apply_operations("enumapp", ProjectState(), [RemoveEnumValue(name, "c", "b")],
                         atomic=atomic)
    waited = time.monotonic() - started
    assert 3 * 0.1 <= waited <= locks.budget_seconds() + 1.0
    message = str(refused.value)
    assert f"pid {holder.info.backend_pid} (idle in transaction" in message
    assert "transaction open for" in message and "query 'SELECT count(*) FROM" in message
    assert "3 attempts of lock_timeout=100ms" in message and "nothing was changed" in message
    assert catalog_snapshot() == before
    assert run_sql("SELECT count(*) FROM {} WHERE kind = 'c'", table) == [(50,)]

    holder.rollback()  # the other transaction ends: now the swap goes through
    apply_operations("enumapp", ProjectState(), [RemoveEnumValue(name, "c", "b")],
                     atomic=atomic)
    assert enum_labels(name) == ["a", "b"]
    assert run_sql("SELECT count(*) FROM {} WHERE kind = 'b'", table) == [(50,)]


def test_remove_value__waiting_for_its_lock__readers_queue_at_most_the_lock_timeout(
    busy_table, settings
):
    settings.ENUM_LOCK_TIMEOUT = "300ms"
    settings.ENUM_LOCK_RETRIES = 8
    name, table, holder = busy_table
    outcome: dict = {}

    def swap() -> None:
        try:
            apply_operations("enumapp", ProjectState(), [RemoveEnumValue(name, "c", "b")])
            outcome["done"] = True
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc
        finally:
            connections.close_all()

    worker = threading.Thread(target=swap)
    worker.start()
    time.sleep(0.15)  # the swap now waits for its lock, behind the holder
    with _session() as reader:
        reader.execute("SET statement_timeout = '5s'")
        started = time.monotonic()
        reader.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        queued = time.monotonic() - started
        reader.rollback()
    assert queued < 0.3 + 0.5
    holder.rollback()
    worker.join(timeout=30)
    assert outcome == {"done": True}
    assert enum_labels(name) == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "seconds"), [("2s", 2.0), ("100ms", 0.1), ("250", 0.25), ("1min", 60.0)]
)
def test_timeout_seconds__postgres_durations(value, seconds):
    assert locks.timeout_seconds(value) == pytest.approx(seconds)


def test_budget_seconds__attempts_and_pauses(settings):
    settings.ENUM_LOCK_TIMEOUT = "100ms"
    settings.ENUM_LOCK_RETRIES = 2
    assert locks.budget_seconds() == pytest.approx(3 * 0.1 + 0.1 + 0.2)


def test_add_value__other_transaction_changing_the_type__gives_up_naming_it(
    busy_table, settings
):
    settings.ENUM_LOCK_TIMEOUT = "100ms"
    settings.ENUM_LOCK_RETRIES = 1
    name, _table, holder = busy_table
    holder.rollback()
    # Uncommitted, so the type stays locked by that session.
    holder.execute(sql.SQL("ALTER TYPE {} ADD VALUE 'elsewhere'").format(sql.Identifier(name)))
    with pytest.raises(LockNotAcquired) as refused:
        apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "d")])
    assert f"Could not lock enum type {name} for adding 'd'" in str(refused.value)
    assert f"pid {holder.info.backend_pid} (idle in transaction" in str(refused.value)
    holder.rollback()
    apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "d")])
    assert enum_labels(name) == ["a", "b", "c", "d"]
