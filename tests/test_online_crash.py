"""An online removal interrupted at each step: the table stays usable, ``enum_status`` names the
swap under way, and the next ``migrate`` finishes it (SPEC §4a).

A real ``manage.py migrate`` applies a non-atomic removal online; second sessions hold it at a
chosen point with ordinary locks (a row lock stops the backfill, an open snapshot stops
``CREATE INDEX CONCURRENTLY``, a reader's ``ACCESS SHARE`` stops the switch), and the process
is then killed with SIGKILL, or its backends ended with ``pg_terminate_backend``.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from psycopg import sql

from tests.online_helpers import PATIENCE, wait_for
from tests.processes import second_session
from tests.test_online_concurrency import (
    REMOVED,
    OnlineRemoval,
    initial_row,
    removal,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 20_000


def _step(scratch: OnlineRemoval) -> str | None:
    """The step the swap recorded last (the new type's comment holds the state)."""
    rows = scratch._query(
        "SELECT obj_description(oid, 'pg_type') FROM pg_type WHERE typtype = 'e' "
        "AND typname LIKE 'betintel\\_new\\_%%' AND typnamespace = current_schema()::regnamespace",
        [])
    for (comment,) in rows:
        try:
            state = json.loads(comment or "{}").get("betintel", {}).get("online_swap", {})
        except ValueError:
            continue
        if state.get("type") == scratch.type_name:
            return state.get("step")
    return None


def _new_type(scratch: OnlineRemoval) -> str:
    """The name of the swap's new type (``betintel_new_<oid>``)."""
    return next(name for (name,) in scratch._query(
        "SELECT typname FROM pg_type WHERE typname LIKE 'betintel\\_new\\_%%' "
        "AND typtype = 'e' AND typnamespace = current_schema()::regnamespace", []))


def _waits_for_us(scratch: OnlineRemoval, pid: int) -> bool:
    """Whether backend ``pid`` waits for one of our ``manage.py`` backends."""
    return bool(scratch._query(
        "SELECT FROM pg_stat_activity WHERE application_name = %s "
        "AND pid = ANY(pg_blocking_pids(%s))", [scratch.application, pid]))


def _swap_constraints(scratch: OnlineRemoval) -> list[tuple[str, bool]]:
    return scratch._query(
        "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND conname LIKE 'betintel\\_%%' ORDER BY 1", [scratch.table])


def _blocked_by(scratch: OnlineRemoval, pid: int) -> bool:
    """Whether one of our ``manage.py`` backends waits for backend ``pid``."""
    return bool(scratch._query(
        "SELECT FROM pg_stat_activity WHERE application_name = %s "
        "AND %s = ANY(pg_blocking_pids(pid))", [scratch.application, pid]))


def _read_table(session: psycopg.Connection, scratch: OnlineRemoval) -> None:
    """Take ACCESS SHARE on the table in ``session``'s open transaction, as a reader does."""
    session.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(scratch.table)))


class Stop:
    """Holds a running removal at one point; ``release`` lets it go on."""

    def __init__(self) -> None:
        self.sessions: list[psycopg.Connection] = []

    def session(self) -> psycopg.Connection:
        self.sessions.append(second_session(autocommit=False))
        return self.sessions[-1]

    def release(self) -> None:
        for session in self.sessions:
            session.rollback()

    def close(self) -> None:
        for session in self.sessions:
            session.close()


def _after_shadow(scratch: OnlineRemoval, process, stop: Stop) -> None:
    scratch.wait_during(process, scratch.shadow_ready, "the shadow columns and their trigger")


def _mid_backfill(scratch: OnlineRemoval, process, stop: Stop) -> None:
    scratch.wait_during(process, scratch.shadow_ready, "the shadow columns and their trigger")
    stop.session().execute(sql.SQL("SELECT FROM {} WHERE id = %s FOR UPDATE").format(
        sql.Identifier(scratch.table)), [scratch.rows * 3 // 4])
    scratch.wait_during(process, lambda: scratch.filled() > 0 and scratch.waiting(),
                        "the backfill to wait for the locked row")
    assert 0 < scratch.filled() < scratch.rows


def _mid_index_build(scratch: OnlineRemoval, process, stop: Stop) -> None:
    scratch.wait_during(process, scratch.shadow_ready, "the shadow columns and their trigger")
    snapshot = stop.session()
    snapshot.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    snapshot.execute("SELECT 1")  # a snapshot older than any index build that follows
    scratch.wait_during(
        process,
        lambda: scratch.waiting() and any(
            name.startswith("betintel_") and not valid for name, valid in scratch.indexes()),
        "an index build to wait for the open snapshot")


def _before_switch(scratch: OnlineRemoval, process, stop: Stop) -> None:
    """A reader holds ACCESS SHARE when the switch asks for its lock, not before.

    The reader first holds the constraints step (which adds CHECKs under ACCESS EXCLUSIVE);
    meanwhile a lock on the new type stops the swap recording its next step, the reader lets
    go, and takes the table again while the swap cannot record ``switch``, so the switch is the
    next statement to want the table.
    """
    scratch.wait_during(process, scratch.shadow_ready, "the shadow columns and their trigger")
    reader = stop.session()
    _read_table(reader, scratch)
    scratch.wait_during(
        process, lambda: _step(scratch) == "constraints" and scratch.waiting_for_table(),
        "the constraints step to wait for the reader")
    recorder = stop.session()
    recorder.execute(sql.SQL("COMMENT ON TYPE {} IS 'held by a test'").format(
        sql.Identifier(_new_type(scratch))))
    reader.rollback()
    scratch.wait_during(
        process,
        lambda: _blocked_by(scratch, recorder.info.backend_pid) and all(
            valid for _name, valid in _swap_constraints(scratch)),
        "the swap to wait before recording the switch, its constraints validated")
    assert _swap_constraints(scratch)
    _read_table(reader, scratch)
    recorder.rollback()
    scratch.wait_during(process, lambda: scratch.waiting_for_table() and _step(scratch) == "switch",
                        "the switch to wait for the reader")


PHASES = {
    "after shadow columns": (_after_shadow, {"shadow", "backfill"}),
    "mid-backfill": (_mid_backfill, {"backfill"}),
    "mid-index build": (_mid_index_build, {"indexes"}),
    "before switch": (_before_switch, {"switch"}),
}
#: Long enough for the reader to hold the constraints step while the test moves on.
PATIENT_LOCKS = {"ENUM_LOCK_TIMEOUT": "1s", "ENUM_LOCK_RETRIES": 60}


def _usable_with_all_rows(scratch: OnlineRemoval, expected: dict) -> None:
    """Every row is there, and raw writes work, the removed value included."""
    assert scratch.count() == scratch.rows
    table, kind = sql.Identifier(scratch.table), sql.Identifier(scratch.type_name)
    with second_session() as session:
        session.execute("SET lock_timeout = '10s'")
        (new_id,) = session.execute(sql.SQL(
            "INSERT INTO {} (kind, tags) VALUES (%s, %s::text[]::{}[]) RETURNING id"
        ).format(table, kind), [REMOVED, [REMOVED, "h2h"]]).fetchone()
        session.execute(sql.SQL("UPDATE {} SET kind = %s, tags = %s::text[]::{}[] WHERE id = 1")
                        .format(table, kind), [REMOVED, ["spreads"]])
        session.execute(sql.SQL("UPDATE {} SET kind = 'h2h' WHERE id = 2").format(table))
        read = session.execute(sql.SQL("SELECT kind::text FROM {} WHERE id = %s").format(table),
                               [new_id]).fetchone()
    assert read == (REMOVED,)  # stored as written until the switch; mapped by it
    expected[new_id] = (REMOVED, [REMOVED, "h2h"])
    expected[1] = (REMOVED, ["spreads"])
    expected[2] = ("h2h", initial_row(2)[1])


def _interrupt(scratch: OnlineRemoval, process, how: str) -> None:
    if how == "SIGKILL":
        process.kill()
    else:
        assert scratch.terminate_backends()
    process.communicate(timeout=60)


@pytest.mark.parametrize("how", ["SIGKILL", "pg_terminate_backend"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_online_removal__interrupted__table_usable_status_warns_next_migrate_finishes(
    removal, phase, how  # noqa: F811
):
    scratch = removal(rows=ROWS)
    hold, steps = PHASES[phase]
    expected = {row_id: initial_row(row_id) for row_id in range(1, ROWS + 1)}
    stop = Stop()
    process = scratch.spawn_migrate(**PATIENT_LOCKS)
    try:
        hold(scratch, process, stop)
        _interrupt(scratch, process, how)
        if phase == "mid-index build" and how == "pg_terminate_backend":
            # The build was cancelled: its index is left invalid, for the next run to redo.
            assert [name for name, valid in scratch.indexes()
                    if name.startswith("betintel_") and not valid]
        stop.release()
        wait_for(lambda: not scratch.backends(), "the interrupted migrate's backends to end")
    finally:
        stop.close()

    _usable_with_all_rows(scratch, expected)
    warnings = scratch.swap_warnings(scratch.enum_status())
    assert len(warnings) == 1, warnings
    assert any(step in warnings[0] for step in steps), warnings

    done = scratch.migrate()
    assert done.returncode == 0, done.stderr
    scratch.assert_finished(expected)


def test_online_removal__reader_outlasts_lock_budget_at_switch__fails_naming_it_then_resumes(
    removal,  # noqa: F811
):
    scratch = removal(rows=ROWS)
    expected = {row_id: initial_row(row_id) for row_id in range(1, ROWS + 1)}
    stop = Stop()
    process = scratch.spawn_migrate(ENUM_LOCK_TIMEOUT="1s", ENUM_LOCK_RETRIES=2)
    try:
        _before_switch(scratch, process, stop)
        reader = stop.sessions[0]
        out, err = process.communicate(timeout=120)
        assert process.returncode != 0, out
        assert f"pid {reader.info.backend_pid} (idle in transaction" in err
        assert scratch.terminate_backends() == []
        stop.release()
    finally:
        stop.close()

    _usable_with_all_rows(scratch, expected)
    warnings = scratch.swap_warnings(scratch.enum_status())
    assert len(warnings) == 1 and "switch" in warnings[0], warnings

    done = scratch.migrate()
    assert done.returncode == 0, done.stderr
    scratch.assert_finished(expected)


def test_online_removal__value_added_while_held_before_switch__kept_in_new_type(
    removal,  # noqa: F811
):
    """``ADD VALUE`` waits for the session holding the type; when the switch commits, the type
    it waited for is gone: the value must be in the new type, not on the dropped one."""
    scratch = removal(rows=ROWS)
    stop = Stop()
    adder = second_session()
    added: dict = {}

    def add_value() -> None:
        try:
            adder.execute("SET statement_timeout = '120s'")
            adder.execute(sql.SQL("ALTER TYPE {} ADD VALUE 'exotic'").format(
                sql.Identifier(scratch.type_name)))
            added["done"] = True
        except psycopg.Error as exc:
            added["error"] = f"{type(exc).__name__}: {exc}"

    process = scratch.spawn_migrate(**PATIENT_LOCKS)
    adding = threading.Thread(target=add_value, daemon=True)
    try:
        _before_switch(scratch, process, stop)
        reader, recorder = stop.sessions
        # Hold the swap once more just before it records the switch, type held, and add a value.
        recorder.execute(sql.SQL("COMMENT ON TYPE {} IS 'held by a test'").format(
            sql.Identifier(_new_type(scratch))))
        reader.rollback()
        scratch.wait_during(process, lambda: _blocked_by(scratch, recorder.info.backend_pid),
                            "the switch to wait for the comment lock")
        adding.start()
        wait_for(lambda: added or _waits_for_us(scratch, adder.info.backend_pid),
                 "ADD VALUE to finish or wait for the swap")
        recorder.rollback()
        out, err = process.communicate(timeout=300)
        adding.join(timeout=PATIENCE)
    finally:
        stop.close()
        adder.close()

    assert process.returncode == 0, err
    orphans = scratch._query("SELECT enumlabel FROM pg_enum WHERE enumtypid NOT IN "
                             "(SELECT oid FROM pg_type)", [])
    assert orphans == []
    assert added == {"done": True}
    assert scratch.labels() == ["h2h", "spreads", "totals", "exotic"]
