"""Removing a value from an enum type: a type swap planned from the catalog (SPEC §4).

PostgreSQL cannot drop a label from an enum type, so the type is replaced: a new type without
the value takes over every column, default, index and constraint of the old one. The order
of the steps is chosen so that definitions the server deparsed keep meaning the same thing:

1. Indexes whose definitions name the type are dropped (their text kept).
2. The old type is renamed out of the way, and the new type is created under the old name, so
   the kept definitions (``kind = 'a'::bet_type_enum``) now resolve to the new type.
3. Each table gets one ``ALTER TABLE``: its CHECK constraints and defaults naming the type are
   dropped, all its columns of the type (arrays too) converted with rows holding the value
   mapped to the replacement, the defaults (mapped) and constraints put back. PostgreSQL
   rewrites the table once and checks the constraints during that rewrite.
4. The indexes are created again, and the old type is dropped without CASCADE inside a
   savepoint: anything the plan missed makes that fail, and the whole swap rolls back. The
   savepoint is then rolled back, so the old type stays (marked in its comment) until commit.

All of it happens in one transaction (a savepoint inside a migration's). It first locks the
type itself (``hold_type``), before reading its values, then every table involved, each under
the lock budget (``locks.py``). A session that named the type before our commit and waits to
``ADD VALUE`` to it gets the old type once we commit (PostgreSQL does not look the name up
again), which is why the old type outlives the transaction: ``after_swap`` then waits for such
sessions, carries what they added into the new type, drops the old type, and ANALYZEs the
rewritten columns (``ALTER COLUMN … TYPE`` drops their statistics), each under the lock
budget. If the process ends first, the next ``migrate`` finishes it (``old_types.py``, shared
with the online swap).

The swap refuses, before changing anything, when rows hold the value and no replacement is
given, when a replacement is not a value of the type, and when an object it cannot rebuild (a
view, a domain, a function) uses the type. Statements name the type with its schema: the
one its columns use (``introspection.enum_type``).

Big tables in non-atomic migrations are swapped online instead (``online/``; ``online.choose``
decides, from ``ENUM_SWAP``).

The modules: ``plan.py`` derives the plan (``SwapPlan``, one ``TablePlan`` per table) from the
catalog; ``refusals.py`` holds what makes the swap refuse before anything changes; ``run.py``
executes the plan and does what follows the commit (``after_swap``); ``log.py`` holds the
swaps' logger and logs the plan. This module holds the entry points: ``remove_value`` and
``hold_type``; the online swap plans from ``plan_removal`` and maps defaults with
``mapped_default``.
"""

from __future__ import annotations

from django.db import transaction
from psycopg import sql

from .. import conf, introspection, locks, old_types, online
from .. import sql as enum_sql
from ..errors import RefusedChange
from ..introspection import type_dependents
from .log import log_plan, logger
from .plan import SwapPlan, TablePlan, checked_plan, mapped_default, plan_removal
from .refusals import check_replacement, refuse_if_rows_hold
from .run import after_swap, execute

__all__ = [
    "SwapPlan", "TablePlan", "after_swap", "hold_type", "logger", "mapped_default",
    "plan_removal", "remove_value",
]


def remove_value(
    schema_editor, type_name: str, value: str, replacement: str | None = None,
    advice: str | None = None,
) -> bool:
    """Remove ``value`` from ``type_name`` by a type swap; rows holding it move to ``replacement``.

    Returns False when the type has no such value (nothing to do). Refusals raise
    ``RefusedChange`` with nothing changed; ``advice`` replaces the default "what to do next"
    of the message refusing because rows hold the value.
    """
    connection = schema_editor.connection
    if schema_editor.collect_sql:
        return _collect(schema_editor, type_name, value, replacement)
    existing = introspection.enum_type(connection, type_name)
    if existing is not None and value not in existing.values:
        # An online swap interrupted after its switch: the value is gone, the old type not yet.
        old_types.finish_interrupted_swaps(connection, into=type_name)
        return False
    blocking, online_plan = _online_plan(schema_editor, type_name, value, replacement)
    if online_plan is not None:
        if replacement is None:
            refuse_if_rows_hold(connection, blocking, advice)
        online.remove_value(schema_editor, online_plan)
        return True
    return _remove_blocking(schema_editor, type_name, value, replacement, advice)


def _remove_blocking(
    schema_editor, type_name: str, value: str, replacement: str | None, advice: str | None
) -> bool:
    """``remove_value`` by the blocking swap, in one transaction (a savepoint inside a
    migration's)."""
    connection = schema_editor.connection
    # Every statement of the swap waits for a lock no longer than ENUM_LOCK_TIMEOUT: the rewrite
    # also locks what the tables' locks do not cover (indexes, the types, the other side of a
    # foreign key). The transaction's own lock_timeout is back once the swap is done.
    with transaction.atomic(using=connection.alias), locks.under_lock_timeout(connection):
        # Held until commit, before the values are read: a value added meanwhile either went in
        # before (and is read) or waits for us, and is carried into the new type after commit.
        existing = hold_type(schema_editor, type_name, f"removing {value!r} from it")
        if existing is None:
            raise RefusedChange(
                f"Enum type {type_name} does not exist, so value {value!r} cannot be removed "
                "from it. Check the type_name, or create the type (CreateEnumType) in an "
                "earlier migration."
            )
        if value not in existing.values:
            return False
        plan = checked_plan(connection, existing, value, replacement)
        if replacement is None:
            refuse_if_rows_hold(connection, plan, advice)
        log_plan(plan)
        online.abandon(schema_editor, type_name)  # what an unfinished online swap left
        locks.lock_tables(schema_editor, [table.table for table in plan.tables],
                          f"removing {value!r} from enum type {type_name}")
        execute(schema_editor, plan)
        transaction.on_commit(lambda: after_swap(connection, plan), using=connection.alias)
    return True


def _online_plan(
    schema_editor, type_name: str, value: str, replacement: str | None
) -> tuple[SwapPlan | None, online.OnlinePlan | None]:
    """The blocking plan and the online plan when this swap runs online (``online.choose``);
    ``(None, None)`` when it runs blocking.

    Only a non-atomic migration (or ``ENUM_SWAP=online``, which refuses an atomic one) can run
    online, so the catalog is read here only then; the online swap holds the type itself, from
    a session of its own, for all of its short transactions.
    """
    if schema_editor.atomic_migration and conf.swap_mode() != online.ONLINE:
        return None, None
    connection = schema_editor.connection
    existing = introspection.enum_type(connection, type_name)
    if existing is None or value not in existing.values:
        return None, None
    check_replacement(existing, value, replacement)
    dependents = type_dependents(connection, existing.name, existing.schema)
    if dependents.blockers:
        return None, None  # the blocking path refuses, naming them
    blocking = plan_removal(connection, existing, value, replacement, dependents)
    online_plan = online.choose(schema_editor, blocking, dependents)
    return (blocking, online_plan) if online_plan is not None else (None, None)


def _collect(schema_editor, type_name: str, value: str, replacement: str | None) -> bool:
    """The swap's statements for ``sqlmigrate``, planned from the catalog as it is now."""
    connection = schema_editor.connection
    existing = introspection.enum_type(connection, type_name)
    if existing is None or value not in existing.values:
        # sqlmigrate before the migrations it depends on ran: nothing to plan from yet.
        enum_sql.execute(
            schema_editor,
            sql.SQL(
                "-- Type swap: its statements are planned from the catalog; apply the "
                "migrations before this one, then run sqlmigrate again to see them"
            ),
        )
        return False
    _blocking, online_plan = _online_plan(schema_editor, type_name, value, replacement)
    if online_plan is not None:
        online.remove_value(schema_editor, online_plan)
        return True
    plan = checked_plan(connection, existing, value, replacement)
    plan.schema = None  # shown as the migration names it
    locks.run_locked(schema_editor, enum_sql.comment_on_type(type_name, existing.comment),
                     f"holding enum type {type_name}", type_name=type_name)
    locks.lock_tables(schema_editor, [table.table for table in plan.tables],
                      f"removing {value!r} from enum type {type_name}")
    execute(schema_editor, plan)
    enum_sql.execute(schema_editor, enum_sql.drop_type(plan.old_name))
    return True


def hold_type(
    schema_editor, type_name: str, doing: str, schema: str | None = None
) -> introspection.EnumType | None:
    """Lock enum type ``type_name`` until the transaction ends, then read it (None: no such type).

    ``ALTER TYPE … ADD VALUE`` and ``RENAME VALUE`` take an EXCLUSIVE lock on the type;
    ``COMMENT ON TYPE`` takes SHARE UPDATE EXCLUSIVE, which conflicts with it, and writing the
    comment the type already has changes nothing. Taken under the lock budget.
    """
    connection = schema_editor.connection
    before = introspection.enum_type(connection, type_name, schema)
    if before is None:
        return None
    locks.run_locked(schema_editor, enum_sql.comment_on_type(before.qualified, before.comment),
                     f"{doing} (holding enum type {type_name})", type_name=before.qualified)
    return introspection.enum_type(connection, type_name, before.schema)
