"""The steps of one online swap (``OnlineSwap``), each recorded in the state before it runs.

``shadow``
    The new type is created as ``betintel_new_<old type oid>``. Per table, in one short
    transaction under the lock budget: each enum column ``c`` (number ``n``; arrays too) gets a
    shadow column ``betintel_<n>_<c>`` of the new type, and the trigger that fills it on every
    write (``statements.py``).
``backfill``
    Existing rows copied in short batches by key (``backfill.py``).
``indexes``
    Every index on an enum column or naming the type (partial, expression, unique) is built
    again on the shadow columns as ``betintel_ix_<old index oid>`` with ``CREATE INDEX
    CONCURRENTLY``. An invalid copy left by an interrupted build is dropped (``CONCURRENTLY``)
    and built again.
``constraints``
    Each CHECK constraint on an enum column or naming the type is added again on the shadow
    columns as ``betintel_ck_<old constraint oid>`` ``NOT VALID``, then validated. Per shadow
    column, ``betintel_nn_<n>`` (``CHECK (shadow IS NOT NULL)``) for a NOT NULL source, else
    ``betintel_ok_<n>`` (``CHECK (source IS NULL OR shadow IS NOT NULL)``), validated: every row
    provably has its shadow value, so the switch needs no scan, and ``SET NOT NULL`` uses the
    validated CHECK instead of scanning (PostgreSQL 12+).
``switch``
    The catalog changes under a short lock (``switch.py``).

Every step checks the catalog and does only what is missing, so a later ``migrate`` resumes a
swap where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import DatabaseError, transaction
from psycopg import sql

from .. import conf, introspection, locks
from .. import sql as enum_sql
from ..errors import LockNotAcquired, RefusedChange, sqlstate
from ..introspection import Table
from ..introspection import online as catalog
from .backfill import Backfill
from .guard import Guard
from .names import STEPS, logger
from .plan import IndexCopy, OnlinePlan, OnlineTable, plan_held
from .state import abandon, recorded_state
from .statements import Statements
from .switch import Switch


def cause_of(exc: BaseException) -> str:
    """The first line of what stopped a step, for the message saying where it stopped."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class OnlineSwap(Backfill, Switch, Statements):
    """The steps of one online swap; ``run`` does them all, each may be run on its own."""

    def __init__(self, schema_editor, online: OnlinePlan, guard: Guard | None) -> None:
        self.editor = schema_editor
        self.connection = schema_editor.connection
        self.plan = online
        self.guard = guard
        self.keys: dict[str, object] = {}
        self.step = STEPS[0]
        self.purpose = f"removing {online.value!r} from enum type {online.type_name} online"

    def run(self, until: str | None = None) -> None:
        """Every step in order (resuming where a previous run stopped), up to ``until``."""
        self._log()
        for step in STEPS:
            if step == "indexes" and self.guard is not None:
                self._indexes_unguarded()
            else:
                getattr(self, step)()
            if step == until:
                return

    def _indexes_unguarded(self) -> None:
        """The indexes step with the type let go, then held again and caught up.

        ``CREATE INDEX CONCURRENTLY`` waits for every transaction older than its snapshot,
        ``ALTER TYPE … ADD VALUE`` waiting for the guard included, while the guard waits for
        the build: a deadlock no server would see. So the type is let go meanwhile. A value
        added then is in no shadow column yet (the trigger wrote NULL, failing nothing): once
        the type is held again, the new type gets the value, the trigger maps it, and every
        row is copied again before the constraints prove the copy complete.
        """
        while True:
            self.guard.release()
            self.indexes()
            self.guard.hold()
            fresh = plan_held(self.connection, self.plan)
            added = fresh.values != self.plan.values
            self.plan = fresh
            if added:
                self.shadow()
                self.backfill()
            if all(self._index_valid(index) for table in self.plan.tables
                   for index in table.indexes):
                return

    def shadow(self) -> None:
        """The new type, and per table the shadow columns and the trigger that fills them."""
        online = self.plan
        state = None if self.editor.collect_sql else recorded_state(self.connection, online)
        if state is not None and (state.get("value"), state.get("replacement")) != (
            online.value, online.replacement
        ):
            abandon(self.editor, online.type_name)  # another removal was under way: start over
            state = None
        if state is None:
            self._run(enum_sql.create_type(online.new_type, online.values))
        else:
            self.keys = dict(state.get("keys") or {})
            if self._sync_labels():
                self.keys = {}  # a label came in while no swap ran: copy every row again
        self._record("shadow")
        for table in online.tables:
            if not table.columns:
                continue
            actions = [
                enum_sql.add_column(column.shadow, self._new_type(column.array))
                for column in table.columns
                if not self._column_exists(table, column.shadow)
            ]
            statements = [enum_sql.alter_table(table.table.identifier, actions)] if actions else []
            statements += [self._function(table), self._drop_trigger(table), self._trigger(table)]
            self._locked(statements, [table.table])

    def indexes(self) -> None:
        """Build every index again on the shadow columns, ``CONCURRENTLY``."""
        self._record("indexes")
        for table in self.plan.tables:
            for index in table.indexes:
                valid = self._index_valid(index)
                if valid is False:  # left invalid by an interrupted build
                    self._run(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                        enum_sql.table_name(index.schema, index.copy)))
                if valid is not True:
                    self._run(self._index(table, index))

    def constraints(self) -> None:
        """CHECK copies and the helper CHECKs, added ``NOT VALID`` and then validated."""
        self._record("constraints")
        for table in self.plan.tables:
            wanted = [(check.copy, self._rewrite(table, check.definition.removesuffix(
                " NOT VALID")), check.validated, check.name) for check in table.checks]
            wanted += [(column.proof, self._proof(column), True, None)
                       for column in table.columns]
            for name, definition, validate, original in wanted:
                exists = self._constraint_state(table, name)
                if exists is None:
                    added = sql.SQL("ADD CONSTRAINT {} {} NOT VALID").format(
                        enum_sql.identifier(name), definition)
                    self._locked([enum_sql.alter_table(table.table.identifier, [added])],
                                 [table.table])
                if validate and exists is not True:
                    self._validate(table, name, original)

    def _validate(self, table: OnlineTable, name: str, original: str | None) -> None:
        try:
            self._locked([sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                table.table.identifier, enum_sql.identifier(name))], [table.table])
        except DatabaseError as exc:
            if sqlstate(exc) != "23514":
                raise
            raise RefusedChange(self._refusal(table, original)) from exc

    def _refusal(self, table: OnlineTable, original: str | None) -> str:
        online = self.plan
        if original is not None:
            why = (f"constraint {original} does not hold for some rows once {online.value!r} "
                   f"becomes {online.replacement!r}")
        else:
            why = (f"rows hold {online.value!r}, which the new type lacks (written while "
                   "the swap ran, with no replacement given)")
        return (
            f"The online swap removing {online.value!r} from enum type {online.type_name} "
            f"stopped at its constraints step on table {table.table}: {why}. The table is "
            "unchanged and usable, and enum_status shows the swap under way. Change those "
            "rows, then run migrate again to finish it."
        )

    def analyze(self) -> None:
        """Planner statistics for the switched tables, under the lock budget."""
        for table in self.plan.tables:
            if table.columns:
                locks.run_locked(self.editor, sql.SQL("ANALYZE {}").format(
                    table.table.identifier), f"analysing {table.table}", tables=[table.table])

    def show(self) -> None:
        """Under ``sqlmigrate``: every step's statements, none of them run."""
        self._run(sql.SQL("-- Online type swap of {}: a second session holds the type "
                          "(COMMENT ON TYPE with its own comment) until the switch commits")
                  .format(sql.Identifier(self.plan.type_name.replace("\n", " "))))
        for step in STEPS:
            self._run(sql.SQL("-- step: {}").format(sql.SQL(step)))
            getattr(self, step)()
        for table in self.plan.tables:
            if table.columns:
                self._run(sql.SQL("ANALYZE {}").format(table.table.identifier))

    def interrupted(self, exc: BaseException) -> str:
        """What to tell when a database error stopped the swap."""
        return (
            f"The online swap removing {self.plan.value!r} from enum type "
            f"{self.plan.type_name} stopped at its {self.step} step ({cause_of(exc)}). The "
            "tables are usable with all their rows, and enum_status shows the swap under way; "
            "run migrate again to resume and finish it."
        )

    # State ---------------------------------------------------------------------------------

    def _record(self, step: str) -> None:
        self.step = step
        if not self.editor.collect_sql:
            self._write_state(step)

    def _write_state(self, step: str, cursor=None) -> None:
        statement = enum_sql.comment_on_type(self.plan.new_type, self.plan.state(step, self.keys))
        if cursor is None:
            self._run(statement)
        else:
            cursor.execute(enum_sql.render(statement, self.connection))

    def _sync_labels(self) -> bool:
        """Add to the new type the labels added to the old one since; True if any was."""
        new = introspection.enum_type(self.connection, self.plan.new_type)
        old = list(self.plan.values)
        missing = [value for value in old if value not in new.values]
        for position, value in enumerate(old):
            if value not in missing:
                continue
            following = [v for v in old[position + 1:] if v in new.values]
            statement = enum_sql.add_value(self.plan.new_type, value,
                                           before=following[0] if following else None)
            self._run(statement)
            new = introspection.enum_type(self.connection, self.plan.new_type)
        return bool(missing)

    def _log(self) -> None:
        tables = [table for table in self.plan.tables if table.columns]
        moved = (f" (rows move to {self.plan.replacement!r})"
                 if self.plan.replacement is not None else "")
        logger.info("Removing %r from enum type %s%s online: %d table%s copied beside live "
                    "traffic, then switched under a short lock.", self.plan.value,
                    self.plan.type_name, moved, len(tables), "s" if len(tables) != 1 else "")
        for table in tables:
            rows = table.table.estimated_rows
            logger.info("  Copying %s: %s (columns: %s)", table.table,
                        f"about {rows:,} rows" if rows >= 0 else "rows not estimated yet",
                        ", ".join(column.name for column in table.columns))

    # Running statements and reading what a step made ------------------------------------------

    def _locked(self, statements: list, tables: list[Table]) -> None:
        """``statements`` in one short transaction, locks waited for under the lock budget."""
        if self.editor.collect_sql:
            self._run(enum_sql.set_lock_timeout(conf.lock_timeout()))
            for statement in statements:
                self._run(statement)
            return

        def work(_cursor):
            for statement in statements:
                self._run(statement)

        self._attempts(work, tables)

    def _attempts(self, work: Callable, tables: list[Table]):
        """``work(cursor)`` in a transaction under ``lock_timeout``, retried like ``run_locked``."""
        connection = self.connection
        timeout, retries = conf.lock_timeout(), conf.lock_retries()
        started = time.monotonic()
        for attempt in range(retries + 1):
            try:
                with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [timeout])
                    return work(cursor)
            except DatabaseError as exc:
                if sqlstate(exc) not in locks.RETRYABLE:
                    raise
                if attempt == retries:
                    blockers = introspection.blocking_sessions(connection, [t.oid for t in tables])
                    raise LockNotAcquired(
                        locks._give_up_message([str(t) for t in tables], self.purpose, timeout,
                                               attempt + 1, time.monotonic() - started,
                                               blockers)
                        + " The online swap stays where it is; migrate resumes it.",
                        blockers,
                    ) from exc
            time.sleep(locks.backoff(attempt))
        return None

    def _column_exists(self, table: OnlineTable, name: str) -> bool:
        return catalog.column_exists(self.connection, table.table.oid, name)

    def _index_valid(self, index: IndexCopy) -> bool | None:
        if self.editor.collect_sql:
            return None
        return catalog.index_valid(self.connection, index.schema, index.copy)

    def _constraint_state(self, table: OnlineTable, name: str) -> bool | None:
        """None when missing, else whether it is validated."""
        if self.editor.collect_sql:
            return None
        return catalog.constraint_validated(self.connection, table.table.oid, name)
