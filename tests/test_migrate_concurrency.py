"""``migrate`` beside other sessions and other ``migrate`` processes: real subprocesses, real
second sessions, on the test database.

``tests.enumapp`` gets a temporary migration package (its real migrations, then ours): purple
is added, held by a row, deprecated, and removed by a type swap in ``0904``. A reader holding
``enumapp_swatch`` keeps the swap waiting under its lock budget while the test acts. The
``migrate`` processes install ``tests.listenerapp``, which writes what their operations
announce (``signals.enum_changed``, once committed) to a file the test reads.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from betintel.enums.swap import remove_value
from tests.helpers import enum_labels, run_sql
from tests.listenerapp.listener import read_from
from tests.processes import second_session, spawn_manage
from tests.test_migrate_roundtrip import MigrationPackage

pytestmark = pytest.mark.django_db(transaction=True)

#: Long enough that the swap is still waiting when the reader lets go.
WAITING = {"ENUM_LOCK_TIMEOUT": "60s", "ENUM_LOCK_RETRIES": "0"}


@pytest.fixture
def package(tmp_path, settings):
    """Purple added, held by a row, deprecated (applied); its removal ``0904`` not yet."""
    package = MigrationPackage(tmp_path, settings)
    package.add("0901_add_purple", "enum_ops.AddEnumValue(name='colour_enum', value='purple')")
    package.add(
        "0902_purple_swatch",
        "migrations.RunSQL(\"INSERT INTO enumapp_swatch (colour, name) VALUES ('purple', 'p1')\","
        " \"DELETE FROM enumapp_swatch WHERE name = 'p1'\")",
    )
    package.add("0903_deprecate_purple", "enum_ops.DeprecateEnumValue(name='colour_enum', "
                "value='purple', replacement='blue')")
    package.add("0904_remove_purple", "enum_ops.RemoveEnumValue(name='colour_enum', "
                "value='purple', replacement='blue')")
    call_command("migrate", "enumapp", "0903", verbosity=0)
    package.tmp_path = tmp_path
    package.heard_file = tmp_path / "heard.jsonl"
    yield package
    for value in set(enum_labels("colour_enum")) - {"red", "green", "blue", "purple"}:
        with connection.schema_editor() as editor:
            remove_value(editor, "colour_enum", value)
    call_command("migrate", "enumapp", package.real_leaf, verbosity=0)


def _migrate(package, *args: str, **settings):
    return spawn_manage(
        "migrate", "enumapp", *args, settings={
            "MIGRATION_MODULES": {"enumapp": package.name}, **WAITING, **settings,
            "INSTALLED_APPS": [*django_settings.INSTALLED_APPS, "tests.listenerapp"],
            "HEARD_ENUM_CHANGES_FILE": str(package.heard_file)},
        pythonpath=[package.tmp_path],
    )


def _wait_for(query: str, params: list, what: str, process=None, seconds: float = 120):
    """Poll ``query`` (in a session of its own) until it returns a row; that row's first value."""
    deadline = time.monotonic() + seconds
    with second_session() as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(query, params).fetchone()
            if row is not None:
                return row[0]
            if process is not None and process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"{what}: the process ended first.\n{out}\n{err}")
            time.sleep(0.05)
    pytest.fail(f"Never saw {what}.")


def _waiting_swap(process) -> int:
    """The backend pid of a ``migrate`` waiting to lock ``enumapp_swatch``."""
    return _wait_for(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE%%enumapp_swatch%%'",
        [], "the swap waiting for its table lock", process,
    )


@pytest.fixture
def reader():
    """A session reading ``enumapp_swatch`` in an open transaction (it holds the table)."""
    session = second_session(autocommit=False)
    session.execute("SELECT count(*) FROM enumapp_swatch")
    yield session
    session.close()


def _recorded(name: str) -> int:
    return MigrationRecorder.Migration.objects.filter(app="enumapp", name=name).count()


def _announced(package, name: str) -> list[dict]:
    """What the ``migrate`` processes' operations of migration ``name`` announced."""
    return [heard for heard in read_from(package.heard_file)
            if heard["migration"] == f"enumapp.{name}"]


def _orphan_labels() -> list:
    """Labels in pg_enum whose type no longer exists: values added to a dropped type."""
    return run_sql("SELECT enumlabel FROM pg_enum WHERE enumtypid NOT IN (SELECT oid FROM pg_type)")


def test_value_added_by_sql_during_a_swap__carried_into_the_new_type(package, reader):
    swap = _migrate(package, "0904")
    _waiting_swap(swap)
    adder = second_session()
    thread = threading.Thread(
        target=lambda: adder.execute("ALTER TYPE colour_enum ADD VALUE 'teal'")
    )
    thread.start()
    # The add waits for the swap's hold on the type (unheld, it would be done at once).
    _wait_for(
        "SELECT 1 FROM pg_stat_activity WHERE pid = %s "
        "AND (wait_event_type = 'Lock' OR state = 'idle')",
        [adder.info.backend_pid], "the add waiting or done",
    )
    reader.commit()
    out, err = swap.communicate(timeout=180)
    thread.join(timeout=60)
    adder.close()
    assert swap.returncode == 0, err
    assert enum_labels("colour_enum") == ["red", "green", "blue", "teal"]
    assert _orphan_labels() == []
    assert "'teal' was added to enum type colour_enum while a type swap replaced it" in out
    assert run_sql("SELECT count(*) FROM pg_type WHERE typname LIKE 'betintel_swap%%'") == [(0,)]


def test_two_migrates_at_once__take_turns_each_migration_applied_once(package, reader):
    first = _migrate(package, "0904")
    first_pid = _waiting_swap(first)
    second = _migrate(package, "0904")
    _wait_for_migrate_turn(second, "the second migrate waiting for the first")
    reader.commit()
    first_out, first_err = first.communicate(timeout=180)
    second_out, second_err = second.communicate(timeout=180)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "Applying enumapp.0904_remove_purple..." in first_out
    assert f"Waiting for another migrate (pid {first_pid}) to finish" in second_err
    assert "The other migrate finished after" in second_err
    assert "No migrations to apply." in second_out
    assert "Applying" not in second_out
    assert _recorded("0904_remove_purple") == 1
    assert [heard["direction"] for heard in _announced(package, "0904_remove_purple")] == [
        "forwards"]
    assert enum_labels("colour_enum") == ["red", "green", "blue"]
    assert run_sql("SELECT colour::text FROM enumapp_swatch WHERE name = 'p1'") == [("blue",)]


def test_value_added_by_another_migrate_during_a_swap__applied_after_it_and_present(
    package, reader
):
    package.add("0905_add_teal", "enum_ops.AddEnumValue(name='colour_enum', value='teal')")
    swap = _migrate(package, "0904")
    _waiting_swap(swap)
    adder = _migrate(package, "0905")
    _wait_for_migrate_turn(adder, "the adding migrate waiting for the swap's")
    reader.commit()
    _swap_out, swap_err = swap.communicate(timeout=180)
    adder_out, adder_err = adder.communicate(timeout=180)
    assert swap.returncode == 0, swap_err
    assert adder.returncode == 0, adder_err
    assert "Applying enumapp.0905_add_teal... OK" in adder_out
    assert enum_labels("colour_enum") == ["red", "green", "blue", "teal"]
    assert _orphan_labels() == []
    assert _recorded("0905_add_teal") == 1
    assert [heard["value"] for heard in _announced(package, "0905_add_teal")] == ["teal"]


@pytest.fixture
def slow_rewrite():
    """An index on ``enumapp_swatch`` whose rebuild (after the swap's rewrite) sleeps per row."""
    run_sql("CREATE FUNCTION locks_slow_id(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE "
            "AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN $1; END $$")
    run_sql("INSERT INTO enumapp_swatch (colour, name) SELECT 'red', 'slow' "
            "FROM generate_series(1, 20)")
    run_sql("CREATE INDEX locks_slow_index ON enumapp_swatch (locks_slow_id(id))")
    yield
    run_sql("DROP INDEX locks_slow_index")
    run_sql("DROP FUNCTION locks_slow_id(bigint)")
    run_sql("DELETE FROM enumapp_swatch WHERE name = 'slow'")


def _terminate(pid: int) -> None:
    with second_session() as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])


def _assert_nothing_applied(swap) -> None:
    out, err = swap.communicate(timeout=120)
    assert swap.returncode == 1, out + err
    assert "Traceback" not in err
    assert "CommandError: The connection to database 'default' was lost while migration " \
        "enumapp.0904_remove_purple was being applied" in err
    assert "nothing of migration enumapp.0904_remove_purple was applied" in err
    assert enum_labels("colour_enum") == ["red", "green", "blue", "purple"]
    assert _recorded("0904_remove_purple") == 0
    assert run_sql("SELECT colour::text FROM enumapp_swatch WHERE name = 'p1'") == [("purple",)]


def test_backend_terminated_while_swap_waits_for_its_lock__clear_error_nothing_applied(
    package, reader
):
    swap = _migrate(package, "0904")
    _terminate(_waiting_swap(swap))
    _assert_nothing_applied(swap)


def test_backend_terminated_while_swap_rewrites__clear_error_nothing_applied(
    package, slow_rewrite
):
    swap = _migrate(package, "0904")
    pid = _wait_for(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event = 'PgSleep' AND query LIKE 'ALTER TABLE%%enumapp_swatch%%'",
        [], "the swap rewriting enumapp_swatch", swap,
    )
    _terminate(pid)
    _assert_nothing_applied(swap)


@pytest.mark.parametrize(("verbosity", "shown"), [("0", False), ("1", True)])
def test_migrate_verbosity__swap_plan_only_from_v1_once_on_stdout(package, verbosity, shown):
    done = _migrate(package, "0904", "-v", verbosity)
    out, err = done.communicate(timeout=180)
    assert done.returncode == 0, err
    plan = "Removing 'purple' from enum type colour_enum"
    assert plan not in err
    assert out.count(plan) == (1 if shown else 0)
    assert out.count("Rewriting public.enumapp_swatch") == (1 if shown else 0)


def test_value_added_in_a_long_transaction_during_a_swap__next_migrate_carries_it(
    package, reader
):
    budget = {"ENUM_LOCK_TIMEOUT": "2s", "ENUM_LOCK_RETRIES": "2"}
    swap = _migrate(package, "0904", **budget)
    _waiting_swap(swap)
    adder = second_session(autocommit=False)
    thread = threading.Thread(
        target=lambda: adder.execute("ALTER TYPE colour_enum ADD VALUE 'teal'")
    )
    thread.start()
    _wait_for(
        "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
        [adder.info.backend_pid], "the add waiting for the swap",
    )
    reader.commit()
    # The add lands in the old type once the swap commits, and its transaction stays open.
    out, err = swap.communicate(timeout=180)
    thread.join(timeout=60)
    assert swap.returncode == 0, err
    assert "was left in place" in out and "the next migrate drops it" in out
    assert enum_labels("colour_enum") == ["red", "green", "blue"]
    adder.commit()
    adder.close()

    again = _migrate(package, "0904", **budget)
    out, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    assert "No migrations to apply." in out
    assert enum_labels("colour_enum") == ["red", "green", "blue", "teal"]
    assert _orphan_labels() == []
    assert run_sql("SELECT count(*) FROM pg_type WHERE typname LIKE 'betintel_swap%%'") == [(0,)]


def _wait_for_migrate_turn(process, what: str) -> None:
    """Until ``process`` waits for migrate's advisory lock, held by another migrate."""
    _wait_for(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [], what, process,
    )
