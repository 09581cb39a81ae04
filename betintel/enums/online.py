"""The online type swap: removing a value beside live traffic (SPEC §4a).

A blocking swap (``swap.py``) rewrites each table under ``ACCESS EXCLUSIVE``. Online, each table
keeps serving reads and writes while a copy of its enum columns is built beside it; only the
final switch takes the table's lock, for catalog changes alone.

Which one runs (``choose``): ``ENUM_SWAP=blocking`` never runs online; ``online`` always does,
and is an error in an atomic migration (before anything changes); ``auto`` runs online when the
migration is non-atomic and a table the swap rewrites holds more than ``ENUM_ONLINE_MIN_ROWS``
rows. Rows are the planner's estimate; for a table never analysed, they are counted, at most
``ENUM_ONLINE_MIN_ROWS + 1`` of them (a bounded read, never the whole table). What the online
path cannot carry (``OnlinePlan.reasons``, found by ``plan``: a partitioned or inheriting table,
a table without a primary key or unique not-null key, a key or exclusion constraint using an
enum column, a foreign key between columns of the type, a deferrable unique constraint on one,
a user trigger or rule acting on UPDATE (the backfill updates every row, which must fire nothing
else) or a BEFORE INSERT trigger that would run after ours, extended statistics or column
privileges on an enum column) makes ``auto`` fall back to the blocking swap, saying why in the
plan output, and ``online`` refuse.

Steps, each recorded in the state before it runs (``shadow``, ``backfill``, ``indexes``,
``constraints``, ``switch``):

``shadow``
    The new type is created as ``betintel_new_<old type oid>``. Per table, in one short
    transaction under the lock budget: each enum column ``c`` (number ``n``; arrays too) gets a
    shadow column ``betintel_<n>_<c>`` of the new type, and a trigger ``betintel_sync_<type
    oid>`` (``BEFORE INSERT OR UPDATE``, ``FOR EACH ROW``) running the function
    ``betintel_sync_<type oid>_<table oid>()`` (in the type's schema) sets every shadow column
    from its source on every write: the removed value becomes the replacement; a label the new
    type lacks (the removed value without a replacement) becomes NULL, so the trigger never makes
    a write fail.
``backfill``
    Existing rows are copied in batches of ``ENUM_BACKFILL_BATCH`` by key ranges (primary key, or
    a unique not-null key), one short transaction each under ``lock_timeout`` with retries. A
    writer that meets a row of a batch waits for the batch to commit, so a batch also takes no
    more rows than the previous one copied in ``BATCH_SECONDS`` (``next_batch_size``): on a busy
    or slow table batches shrink, and the longest stall stays bounded whatever the setting. A
    batch sets ``betintel.online_backfill`` to ``on`` in its transaction and computes the shadow
    columns itself; the trigger's WHEN clause skips those updates (without calling the function),
    and every other write still goes through it. The last key copied is recorded with each
    batch, so a resumed swap goes on from there. A progress bar (rows, rows/s, time left) goes
    to stderr when ``migrate`` shows the plan (verbosity 1 or more).
``indexes``
    Every index on an enum column or naming the type (partial, expression, unique) is built
    again on the shadow columns as ``betintel_ix_<old index oid>`` with ``CREATE INDEX
    CONCURRENTLY``; its definition comes from ``pg_get_indexdef`` with column and type
    references rewritten token by token (``sql.rewrite_references``). An invalid copy left by an
    interrupted build is dropped (``CONCURRENTLY``) and built again.
``constraints``
    Each CHECK constraint on an enum column or naming the type is added again on the shadow
    columns as ``betintel_ck_<old constraint oid>`` ``NOT VALID``, then validated. Per shadow
    column, ``betintel_nn_<n>`` (``CHECK (shadow IS NOT NULL)``) for a NOT NULL source, else
    ``betintel_ok_<n>`` (``CHECK (source IS NULL OR shadow IS NOT NULL)``), validated: every row
    provably has its shadow value, so the switch needs no scan, and ``SET NOT NULL`` uses the
    validated CHECK instead of scanning (PostgreSQL 12+).
``switch``
    One transaction takes every table's ``ACCESS EXCLUSIVE`` lock under the lock budget and
    changes only the catalog: trigger and function dropped, old indexes, constraints and columns
    dropped, shadow columns, indexes (their columns too) and constraints renamed to the old
    names (a unique
    constraint comes back ``USING INDEX``), defaults set (mapped), ``SET NOT NULL``, helper
    CHECKs dropped, comments carried; then the old type is renamed ``betintel_old_<oid>`` (its
    comment now holds the state) and the new one takes its name (owner and comment carried).
    Once that commits, ``drop_old_type`` takes the old type's lock (so an ``ADD VALUE`` that
    waited for the guard, and resolved the old type before waiting, finishes first), adds any
    value it gained to the new type, and drops it without CASCADE. Afterwards the tables are
    ANALYZEd (under ``lock_timeout``).

Holding the type: a second session (the guard) runs ``COMMENT ON TYPE`` with the type's own
comment inside a transaction it keeps open. That holds a ``SHARE UPDATE EXCLUSIVE`` lock on the
type, which conflicts with ``ALTER TYPE … ADD VALUE`` (so no value can be added to the old type
and then be unknown to the new one) and with nothing that reads or writes rows. The guard holds
the type from before the plan reads its values to the switch, which runs in the guard's session
so that the commit making the new type current releases it (as does the process dying). It
lets go during the ``indexes`` step only (``OnlineSwap._indexes_unguarded``): a build
``CONCURRENTLY`` waits for every older transaction, an ``ADD VALUE`` waiting for the guard
included. A value added then, or while no swap process runs (after an interruption), is added
to the new type too once the type is held again, and every row is copied again. The guard
rewrites the comment, so its transaction has an id: VACUUM cannot reclaim the row versions the
backfill leaves until the switch commits.

State: the new type's comment holds ``{"betintel": {"online_swap": {"type", "value",
"replacement", "step", "keys"}}}`` (``keys``: the last key backfilled per table oid, or
``"done"``); between the switch and the old type's drop, the old type's comment holds it.
``under_way`` finds every swap in progress from it (``enum_status`` warns), and a later
``migrate`` resumes: every step checks the catalog and does only what is missing (after the
switch, ``finish_switched`` drops the old type). A
blocking swap or an atomic migration meeting a swap under way first drops what it left
(``abandon``).

After success nothing named ``betintel_`` remains. PostgreSQL names an index's own columns
(``pg_attribute`` rows of the index) after the table's columns when it is built and does not
rename them with the table's, so the switch renames a rebuilt index's columns back to the old
column names too (``ALTER TABLE <index> RENAME COLUMN``).

Interrupted anywhere, every table stays readable and writable with all its rows: the old
columns stay the real ones until the switch commits, and the trigger maps what is written
meanwhile. After the ``constraints`` step, a write the new type could not hold (the removed
value when there is no replacement; a value added to the old type while no swap process runs)
is refused by the helper CHECK, as it would be after the swap.

Like the blocking swap, the switch replaces the type: a statement a client prepared on the
server with a parameter of the old type (psycopg prepares a query run five times unless
``prepare_threshold=None``; Django does not) fails once the old type is dropped and must be
prepared again. Columns move to the end of their table.

API: ``choose(schema_editor, swap_plan, dependents)`` returns an ``OnlinePlan`` or None;
``remove_value(schema_editor, online_plan)`` holds the type (``Guard``), plans again and runs
``OnlineSwap.run()``, then ``analyze()``. ``OnlineSwap(schema_editor, online_plan, guard)`` has
one method per step (``shadow``, ``backfill``, ``indexes``, ``constraints``, ``switch``),
``run(until=step)`` to stop after one, and ``show()`` for ``sqlmigrate``. ``under_way(connection)``
gives ``{type name: state}``; ``abandon(schema_editor, type_name)`` drops an unfinished swap.

The same steps convert one column between a character type and an enum type beside live
traffic (``conversion.py`` chooses it through ``choose_conversion``; the section "Converting a
column online" below says what differs): ``convert(schema_editor, plan)`` runs or resumes it,
``conversions_under_way(connection)`` gives ``{"schema.table.column": state}``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, connections, transaction
from psycopg import sql

from . import conf, introspection, locks
from . import sql as enum_sql
from .errors import LockNotAcquired, RefusedChange, SwapInterrupted, sqlstate
from .introspection import Default, Dependents
from .introspection import Table as TableInfo

#: The swap's plan and progress go where the blocking swap's plan goes (``migrate`` shows it).
logger = logging.getLogger("betintel.enums.swap")

PREFIX = "betintel_"
#: Set (``on``) only inside a backfill batch's transaction: the trigger then stays out of it.
BACKFILL_SETTING = "betintel.online_backfill"
STEPS = ("shadow", "backfill", "indexes", "constraints", "switch")
STATE_KEY = "online_swap"
AUTO, ONLINE, BLOCKING = "auto", "online", "blocking"


def new_type_name(type_oid: int) -> str:
    return f"{PREFIX}new_{type_oid}"


def old_type_name(type_oid: int) -> str:
    return f"{PREFIX}old_{type_oid}"


def trigger_name(type_oid: int) -> str:
    return f"{PREFIX}sync_{type_oid}"


def function_name(type_oid: int, table_oid: int) -> str:
    return f"{PREFIX}sync_{type_oid}_{table_oid}"


def _fit(name: str) -> str:
    """``name`` cut to PostgreSQL's 63 bytes without splitting a character."""
    return name.encode("utf-8")[:63].decode("utf-8", "ignore")


# The plan ---------------------------------------------------------------------------------


@dataclass
class ShadowColumn:
    """An enum column and the shadow column of the new type that replaces it."""

    name: str
    attnum: int
    array: bool
    not_null: bool
    comment: str | None

    @property
    def shadow(self) -> str:
        return _fit(f"{PREFIX}{self.attnum}_{self.name}")

    @property
    def proof(self) -> str:
        """The helper CHECK proving every row has its shadow value."""
        return f"{PREFIX}{'nn' if self.not_null else 'ok'}_{self.attnum}"


@dataclass
class IndexCopy:
    """An index to build again on the shadow columns (and, if any, its unique constraint)."""

    oid: int
    schema: str
    name: str
    definition: str
    comment: str | None
    constraint: str | None = None
    constraint_comment: str | None = None

    @property
    def copy(self) -> str:
        return f"{PREFIX}ix_{self.oid}"


@dataclass
class CheckCopy:
    """A CHECK constraint to add again on the shadow columns."""

    oid: int
    name: str
    definition: str
    validated: bool
    comment: str | None

    @property
    def copy(self) -> str:
        return f"{PREFIX}ck_{self.oid}"


@dataclass
class OnlineTable:
    """What the online swap does to one table."""

    info: TableInfo
    key: list[tuple[str, str]] = field(default_factory=list)
    columns: list[ShadowColumn] = field(default_factory=list)
    defaults: list[tuple[str, Default]] = field(default_factory=list)
    indexes: list[IndexCopy] = field(default_factory=list)
    checks: list[CheckCopy] = field(default_factory=list)

    @property
    def table(self) -> locks.Table:
        return locks.Table(self.info.oid, self.info.schema, self.info.name)

    @property
    def renames(self) -> dict[str, str]:
        return {column.name: column.shadow for column in self.columns}


@dataclass
class OnlinePlan:
    """The online swap of one type; ``reasons`` say why it cannot run online (if any)."""

    type_name: str
    type_oid: int
    schema: str
    value: str
    replacement: str | None
    values: list[str]
    comment: str | None
    owner: str | None
    tables: list[OnlineTable]
    reasons: list[str] = field(default_factory=list)

    @property
    def new_type(self) -> str:
        return new_type_name(self.type_oid)

    def state(self, step: str, keys: dict | None = None) -> str:
        """The state recorded in the new type's comment."""
        record = {"type": self.type_name, "value": self.value, "replacement": self.replacement,
                  "step": step, "keys": keys or {}}
        return json.dumps({introspection.COMMENT_KEY: {STATE_KEY: record}}, sort_keys=True)


_TABLE_SQL = """
SELECT c.relkind,
       EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
FROM pg_class c WHERE c.oid = %s
"""

_COLUMN_SQL = """
SELECT a.attnotnull, col_description(a.attrelid, a.attnum), a.attacl IS NOT NULL
FROM pg_attribute a WHERE a.attrelid = %s AND a.attnum = %s
"""

# Unique keys usable to walk the table in order: plain columns, all NOT NULL, the primary key
# first.
_KEYS_SQL = """
SELECT i.indisprimary, array_agg(a.attnum ORDER BY k.ord),
       array_agg(a.attname::text ORDER BY k.ord),
       array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord),
       bool_and(a.attnotnull)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts
GROUP BY i.indexrelid, i.indisprimary
ORDER BY i.indisprimary DESC, count(*), i.indexrelid
"""

_INDEXES_SQL = """
SELECT i.indexrelid::bigint, n.nspname, ic.relname, pg_get_indexdef(i.indexrelid),
       obj_description(i.indexrelid, 'pg_class'), con.contype, con.conname,
       obj_description(con.oid, 'pg_constraint'), coalesce(con.condeferrable, false)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = %(table)s AND left(ic.relname, 9) <> 'betintel_'
  AND (i.indkey::int2[] && %(attnums)s::int2[]
       OR EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                    AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
                          AND d.refobjsubid = ANY(%(attnums)s::int2[]))
                         OR (d.refclassid = 'pg_type'::regclass
                             AND d.refobjid = ANY(%(types)s::oid[])))))
ORDER BY ic.relname
"""

_CHECKS_SQL = """
SELECT con.oid::bigint, con.conname, pg_get_constraintdef(con.oid), con.convalidated,
       obj_description(con.oid, 'pg_constraint')
FROM pg_constraint con
WHERE con.conrelid = %(table)s AND con.contype = 'c' AND left(con.conname, 9) <> 'betintel_'
  AND (con.conkey && %(attnums)s::int2[]
       OR EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_constraint'::regclass AND d.objid = con.oid
                    AND d.refclassid = 'pg_type'::regclass
                    AND d.refobjid = ANY(%(types)s::oid[])))
ORDER BY con.conname
"""

# User triggers the online swap cannot live with: any on UPDATE (the backfill updates every row,
# which must change nothing else and be refused by nothing), and BEFORE ROW ones on INSERT that
# run after the copy's (they could change a column after it was copied). tgtype bits: ROW 1,
# BEFORE 2, INSERT 4, UPDATE 16.
_TRIGGERS_SQL = """
SELECT tgname, (tgtype & 16) <> 0 FROM pg_trigger
WHERE tgrelid = %s AND NOT tgisinternal AND left(tgname, 9) <> 'betintel_'
  AND ((tgtype & 16) <> 0 OR ((tgtype & 3) = 3 AND (tgtype & 4) <> 0 AND tgname > %s))
UNION ALL
SELECT 'rule ' || rulename, true FROM pg_rewrite
WHERE ev_class = %s AND rulename <> '_RETURN' AND ev_type = '2'
ORDER BY 1
"""

_STATISTICS_SQL = """
SELECT stxname FROM pg_statistic_ext WHERE stxrelid = %s AND stxkeys::int2[] && %s::int2[]
"""


def plan(connection, blocking, dependents: Dependents) -> OnlinePlan:
    """The online plan matching the blocking ``SwapPlan`` ``blocking`` of the same type."""
    existing = introspection.enum_type(connection, blocking.type_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema(), typarray FROM pg_type WHERE oid = %s",
                       [existing.oid])
        schema, array_oid = cursor.fetchone()
    online = OnlinePlan(
        type_name=blocking.type_name, type_oid=existing.oid, schema=schema,
        value=blocking.value, replacement=blocking.replacement, values=list(blocking.values),
        comment=blocking.comment, owner=blocking.owner, tables=[],
    )
    for key in dependents.foreign_keys:
        online.reasons.append(
            f"foreign key {key.name} on table {key.schema}.{key.table} joins columns of the type"
        )
    tables = {oid: OnlineTable(info) for oid, info in dependents.tables.items()}
    for column in dependents.columns:
        tables[column.table_oid].columns.append(
            ShadowColumn(column.name, column.attnum, column.array, False, None)
        )
    with connection.cursor() as cursor:
        for table in tables.values():
            _complete_table(cursor, online, table, [existing.oid, array_oid], dependents)
    online.tables = sorted(tables.values(), key=lambda t: (t.info.schema, t.info.name))
    return online


def _complete_table(cursor, online: OnlinePlan, table: OnlineTable, types, dependents,
                    sync_trigger: str | None = None) -> None:
    where = f"table {table.table}"
    cursor.execute(_TABLE_SQL, [table.info.oid])
    relkind, inherits = cursor.fetchone()
    if relkind == "p":
        online.reasons.append(f"{where} is partitioned")
    elif inherits:
        online.reasons.append(f"{where} has inheritance parents or children")
    attnums = [column.attnum for column in table.columns]
    for column in table.columns:
        cursor.execute(_COLUMN_SQL, [table.info.oid, column.attnum])
        column.not_null, column.comment, acl = cursor.fetchone()
        if acl:
            online.reasons.append(f"column {column.name} of {where} has column privileges")
    if table.columns:
        cursor.execute(_KEYS_SQL, [table.info.oid])
        for _primary, key_attnums, names, types_of, not_null in cursor.fetchall():
            if not_null and not set(key_attnums) & set(attnums):
                table.key = list(zip(names, types_of, strict=True))
                break
        else:
            online.reasons.append(
                f"{where} has no primary key or unique not-null key without an enum column"
            )
        cursor.execute(_TRIGGERS_SQL, [table.info.oid,
                                       sync_trigger or trigger_name(online.type_oid),
                                       table.info.oid])
        for name, on_update in cursor.fetchall():
            name = name if name.startswith("rule ") else f"trigger {name}"
            online.reasons.append(
                f"{name} on {where} acts on UPDATE, which the backfill does to every row"
                if on_update else f"{name} on {where} would run after the copy's trigger"
            )
        cursor.execute(_STATISTICS_SQL, [table.info.oid, attnums])
        for (name,) in cursor.fetchall():
            online.reasons.append(f"extended statistics {name} on {where} use an enum column")
    params = {"table": table.info.oid, "attnums": attnums, "types": types}
    cursor.execute(_INDEXES_SQL, params)
    for oid, schema, name, definition, comment, contype, conname, concomment, deferrable in (
        cursor.fetchall()
    ):
        if contype == "p":
            online.reasons.append(f"the primary key {conname} of {where} uses an enum column")
        elif contype == "x":
            online.reasons.append(f"exclusion constraint {conname} on {where} uses the type")
        elif contype == "u" and deferrable:
            online.reasons.append(f"unique constraint {conname} on {where} is deferrable")
        table.indexes.append(IndexCopy(oid, schema, name, definition, comment,
                                       conname if contype == "u" else None, concomment))
    cursor.execute(_CHECKS_SQL, params)
    table.checks = [CheckCopy(*row) for row in cursor.fetchall()]
    for default in dependents.defaults:
        if default.table_oid == table.info.oid:
            if default.inherited:
                online.reasons.append(f"column {default.column} of {where} is inherited")
            table.defaults.append((default.column, default))


# Choosing ---------------------------------------------------------------------------------


def choose(schema_editor, blocking, dependents: Dependents) -> OnlinePlan | None:
    """The online plan when this swap runs online, else None (see the module doc)."""
    mode = conf.swap_mode()
    if mode == BLOCKING:
        return None
    what = f"removing {blocking.value!r} from enum type {blocking.type_name}"

    def build(connection) -> OnlinePlan:
        return plan(connection, blocking, dependents)

    def resumes(connection, online: OnlinePlan) -> bool:
        return online.type_name in under_way(connection)

    def fall_back(online: OnlinePlan, reasons: str, resuming: bool) -> None:
        logger.info("The swap %s runs blocking, not online: %s.", what, reasons)

    return _decide(
        schema_editor, mode, build, resumes, fall_back,
        atomic_refusal=(
            f"ENUM_SWAP=online, but the migration {what} is atomic, and an online swap runs "
            "many short transactions. Nothing was changed. Set atomic = False on the migration "
            "(makemigrations writes removals that way), or set ENUM_SWAP=auto or blocking."
        ),
        reasons_refusal=lambda reasons: (
            f"ENUM_SWAP=online, but {what} cannot run online: {reasons}. Nothing was "
            "changed. Set ENUM_SWAP=auto to fall back to the blocking swap, or change "
            "those objects in an earlier migration."
        ),
    )


def _decide(schema_editor, mode: str, build: Callable, resumes: Callable, fall_back: Callable,
            *, atomic_refusal: str, reasons_refusal: Callable[[str], str]):
    """The plan ``build`` makes when the change runs online, else None: the one decision a swap
    and a conversion share (mode, atomic migration, table size, reasons), each with its own
    words for a refusal and its own way of falling back."""
    atomic = schema_editor.atomic_migration
    if mode == ONLINE and atomic:
        raise RefusedChange(atomic_refusal)
    if atomic:
        return None
    connection = schema_editor.connection
    online = build(connection)
    resuming = resumes(connection, online)
    if mode == AUTO and not resuming and not _big_enough(connection, online):
        return None
    if online.reasons:
        reasons = "; ".join(online.reasons)
        if mode == ONLINE:
            raise RefusedChange(reasons_refusal(reasons))
        fall_back(online, reasons, resuming)
        return None
    return online


def _big_enough(connection, online: OnlinePlan) -> bool:
    limit = conf.online_min_rows()
    for table in online.tables:
        if not table.columns:
            continue
        rows = table.info.estimated_rows
        if rows <= 0:  # never analysed (0 before PostgreSQL 14): count, up to the limit
            statement = sql.SQL("SELECT count(*) FROM (SELECT FROM {} LIMIT {}) AS t").format(
                table.table.identifier, sql.Literal(limit + 1)
            )
            with connection.cursor() as cursor:
                cursor.execute(enum_sql.render(statement, connection))
                rows = cursor.fetchone()[0]
        if rows > limit:
            return True
    return False


# Swaps under way ----------------------------------------------------------------------------


def under_way(connection) -> dict[str, dict]:
    """Online swaps left unfinished, by type name: their recorded state."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(t.oid, 'pg_type') FROM pg_type t "
            "WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'e' "
            "AND left(t.typname, 13) IN (%s, %s)",
            [f"{PREFIX}new_", f"{PREFIX}old_"],
        )
        comments = [row[0] for row in cursor.fetchall()]
    found = {}
    for comment in comments:
        record = introspection.parse_comment(comment).get(introspection.COMMENT_KEY) or {}
        state = record.get(STATE_KEY)
        if isinstance(state, dict) and state.get("type"):
            found[state["type"]] = state
    return found


def drop_old_type(schema_editor, type_name: str, type_oid: int, value: str) -> None:
    """Drop the old type once the switch committed, carrying over any value added to it.

    An ``ALTER TYPE … ADD VALUE`` that waited for the guard found the type by name before it
    waited: when the switch commits, it adds its value to the old type. Taking the old type's
    lock waits for it; its values missing from the new type are added there, then the old type
    is dropped (without CASCADE), all in one transaction.
    """
    connection = schema_editor.connection
    old_name = old_type_name(type_oid)
    if schema_editor.collect_sql:
        enum_sql.execute(schema_editor, enum_sql.drop_type(old_name))
        return
    purpose = f"dropping the old enum type of {type_name} after its online swap"
    with transaction.atomic(using=connection.alias):
        restore = locks.keep_lock_timeout(connection)
        old = introspection.enum_type(connection, old_name)
        if old is None:
            return
        locks.run_locked(schema_editor, enum_sql.comment_on_type(old_name, old.comment),
                         purpose, type_name=old_name)
        restore()
        old = introspection.enum_type(connection, old_name)
        new = list(introspection.enum_type(connection, type_name).values)
        for position, label in enumerate(old.values):
            if label == value or label in new:
                continue
            following = [v for v in old.values[position + 1:] if v in new]
            enum_sql.execute(schema_editor, enum_sql.add_value(
                type_name, label, before=following[0] if following else None))
            new.insert(new.index(following[0]) if following else len(new), label)
        enum_sql.execute(schema_editor, enum_sql.drop_type(old_name))


def finish_switched(schema_editor, type_name: str) -> bool:
    """Drop the old type an interrupted online swap left after its switch; True if one did."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.typname, obj_description(t.oid, 'pg_type') FROM pg_type t "
            "WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'e' "
            "AND left(t.typname, 13) = %s", [f"{PREFIX}old_"])
        rows = cursor.fetchall()
    for name, comment in rows:
        record = introspection.parse_comment(comment).get(introspection.COMMENT_KEY) or {}
        state = record.get(STATE_KEY) or {}
        if state.get("type") == type_name:
            drop_old_type(schema_editor, type_name, int(name[len(f"{PREFIX}old_"):]),
                          state.get("value"))
            return True
    return False


def _recorded_state(connection, online: OnlinePlan) -> dict | None:
    state = under_way(connection).get(online.type_name)
    if state is None or introspection.enum_type(connection, online.new_type) is None:
        return None
    return state


# Running ----------------------------------------------------------------------------------


class Guard:
    """A second session holding the old type for the whole swap (see the module doc)."""

    def __init__(self, connection, type_name: str) -> None:
        self.type_name = type_name
        self.alias = f"{connection.alias}__betintel_guard_{id(self)}"
        wrapper = connections[connection.alias]  # the class of the backend, not a proxy's
        self.connection = type(wrapper)(dict(wrapper.settings_dict), self.alias)
        connections[self.alias] = self.connection
        self.editor = self.connection.schema_editor(atomic=False)
        self._transaction = None

    def hold(self) -> None:
        """Open the guard's transaction and lock the type (under the lock budget)."""
        self._transaction = transaction.atomic(using=self.alias)
        self._transaction.__enter__()
        purpose = f"holding enum type {self.type_name} during its online swap"
        # The comment changes only through migrations, which migrate runs one at a time.
        locks.run_locked(self.editor, enum_sql.comment_on_type(self.type_name, self.comment()),
                         purpose, type_name=self.type_name)

    def comment(self) -> str | None:
        existing = introspection.enum_type(self.connection, self.type_name)
        return existing.comment if existing else None

    def commit(self) -> None:
        self._transaction.__exit__(None, None, None)
        self._transaction = None

    def release(self) -> None:
        """End the guard's transaction (rolled back): the type is no longer held."""
        try:
            if self._transaction is not None:
                self._transaction.__exit__(RuntimeError, RuntimeError("released"), None)
        finally:
            self._transaction = None

    def close(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001 - the session may be gone already; we only clean up
            pass
        finally:
            self.connection.close()
            del connections[self.alias]


def remove_value(schema_editor, online: OnlinePlan) -> None:
    """Run (or resume) the online swap ``online``; the module doc gives the steps."""
    if schema_editor.collect_sql:
        OnlineSwap(schema_editor, online, None).show()
        return
    guard = Guard(schema_editor.connection, online.type_name)
    try:
        guard.hold()
        # Planned again now that the type is held: a value added before is in the new type.
        swap = OnlineSwap(schema_editor, plan_held(schema_editor.connection, online), guard)
        try:
            swap.run()
        except DatabaseError as exc:
            raise SwapInterrupted(swap.interrupted(exc)) from exc
    finally:
        guard.close()
    swap.analyze()


def _shape(online: OnlinePlan) -> list:
    """What the switch relies on, per table: columns, indexes, CHECKs and defaults."""
    return [
        (table.info.oid, [c.name for c in table.columns], [i.oid for i in table.indexes],
         [c.oid for c in table.checks], [column for column, _ in table.defaults])
        for table in online.tables
    ]


def plan_held(connection, online: OnlinePlan) -> OnlinePlan:
    """``online`` planned again from the catalog (call it while the type is held)."""
    from .introspection import type_dependents
    from .swap import _plan

    existing = introspection.enum_type(connection, online.type_name)
    dependents = type_dependents(connection, online.type_name)
    fresh = plan(connection, _plan(connection, existing, online.value, online.replacement,
                                   dependents), dependents)
    if dependents.blockers or fresh.reasons:
        raise RefusedChange(
            f"Enum type {online.type_name} changed while its online swap was being planned "
            f"({'; '.join(dependents.blockers + fresh.reasons)}), so the swap did not start. "
            "Nothing was changed. Run migrate again."
        )
    return fresh


class OnlineSwap:
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

    # The steps -----------------------------------------------------------------------------

    def shadow(self) -> None:
        """The new type, and per table the shadow columns and the trigger that fills them."""
        online = self.plan
        state = None if self.editor.collect_sql else _recorded_state(self.connection, online)
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

    def backfill(self) -> None:
        """Copy every row's enum columns to the shadow columns, in short batches by key."""
        self._record("backfill")
        batch = conf.backfill_batch()
        for table in self.plan.tables:
            if not table.columns or self.keys.get(str(table.info.oid)) == "done":
                continue
            if self.editor.collect_sql:
                self._run(sql.SQL("-- backfill: these statements run once per batch of {} "
                                  "rows, each batch in its own transaction, until no row is "
                                  "left: last_key is the last key copied (none at first), "
                                  "batch_end what the SELECT finds (none: no bound)")
                          .format(sql.Literal(batch)))
                self._run(sql.SQL("SET LOCAL {} = 'on'").format(
                    sql.Identifier(*BACKFILL_SETTING.split("."))))
                self._run(self._batch_end(table, [sql.Placeholder("last_key")], batch))
                self._run(self._batch(table, [sql.Placeholder("last_key")],
                                      [sql.Placeholder("batch_end")]))
                continue
            self._backfill_table(table, batch)

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

    def switch(self) -> None:
        """Every table's catalog changes and the type's rename, in the guard's transaction."""
        self._record("switch")
        editor = self.guard.editor if self.guard is not None else self.editor
        statements = []
        for table in self.plan.tables:
            statements += self._switch_table(table)
        statements += self._switch_type()
        tables = [table.table for table in self.plan.tables]
        if editor.collect_sql:
            self._run(sql.SQL("-- switch: in the session holding the type, one transaction"))
            locks.lock_tables(editor, tables, self.purpose)
            for statement in statements:
                self._run(statement)
            drop_old_type(self.editor, self.plan.type_name, self.plan.type_oid, self.plan.value)
            return
        self._switch_locked(editor, tables, statements, "The online swap stays under way at "
                            "its switch step; the tables are usable, and the next migrate "
                            "finishes it.")
        self.guard.commit()
        drop_old_type(self.editor, self.plan.type_name, self.plan.type_oid, self.plan.value)

    def _switch_locked(self, editor, tables: list[locks.Table], statements: list,
                       under_way: str) -> None:
        """The switch's one transaction in ``editor``'s session: the tables locked under the
        lock budget, the plan checked against the catalog again, then the catalog changes.
        When the locks cannot be had, the error ends with ``under_way``."""
        with transaction.atomic(using=editor.connection.alias):
            restore = locks.keep_lock_timeout(editor.connection)
            try:
                locks.lock_tables(editor, tables, self.purpose)
            except LockNotAcquired as exc:
                raise LockNotAcquired(f"{exc} {under_way}", exc.blockers) from exc
            restore()
            self._refuse_if_changed(editor.connection)
            for statement in statements:
                enum_sql.execute(editor, statement)

    def _refuse_if_changed(self, connection) -> None:
        """Refuse the switch when the tables changed since the plan (an index or CHECK added
        on an old column would go with it unseen); the next migrate plans again."""
        fresh = plan_held(connection, self.plan)
        if _shape(fresh) != _shape(self.plan):
            raise RefusedChange(
                f"The tables using enum type {self.plan.type_name} changed during its online "
                "swap (a column, index, constraint or default was added or dropped), so the "
                "switch did not happen. The online swap stays under way and the tables are "
                "usable; run migrate again to include the change and finish it."
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

    # Statements ---------------------------------------------------------------------------

    def _new_type(self, array: bool = False) -> sql.Composable:
        name = enum_sql.table_name(self.plan.schema, self.plan.new_type)
        return sql.SQL("{}[]").format(name) if array else name

    def _mapped(self, source: sql.Composable, column: ShadowColumn) -> sql.Composable:
        """``source`` as the new type: the removed value mapped, a label it lacks NULL."""
        return enum_sql.mapped_value(source, column.array, self.plan.value,
                                     self.plan.replacement, self.plan.values,
                                     enum_sql.table_name(self.plan.schema, self.plan.type_name),
                                     self._new_type(column.array))

    def _function(self, table: OnlineTable) -> sql.Composable:
        body = sql.SQL("BEGIN {} RETURN NEW; END").format(sql.SQL(" ").join(
            sql.SQL("NEW.{} := {};").format(
                enum_sql.identifier(column.shadow),
                self._mapped(sql.SQL("NEW.{}").format(enum_sql.identifier(column.name)), column))
            for column in table.columns
        ))
        text = enum_sql.render(body, self.connection)
        return sql.SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}"
        ).format(self._function_name(table), sql.Literal(text))

    def _function_name(self, table: OnlineTable) -> sql.Composable:
        return enum_sql.table_name(self.plan.schema,
                                   function_name(self.plan.type_oid, table.info.oid))

    def _trigger_name(self) -> str:
        return trigger_name(self.plan.type_oid)

    def _drop_trigger(self, table: OnlineTable) -> sql.Composable:
        return sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
            enum_sql.identifier(self._trigger_name()), table.table.identifier)

    def _trigger(self, table: OnlineTable) -> sql.Composable:
        # The backfill computes the shadow columns itself and says so in a setting of its own
        # transaction: the WHEN clause, evaluated without calling the function, skips the trigger
        # for those updates only.
        return sql.SQL(
            "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW "
            "WHEN (current_setting({}, true) IS DISTINCT FROM 'on') EXECUTE FUNCTION {}()"
        ).format(enum_sql.identifier(self._trigger_name()), table.table.identifier,
                 sql.Literal(BACKFILL_SETTING), self._function_name(table))

    def _batch(self, table: OnlineTable, after: list | None, upper: list | None):
        """The update of one batch: the rows with keys after ``after``, up to ``upper``.

        A key range walks the key's index. Run with ``BACKFILL_SETTING`` on, so the trigger
        does not compute the shadow columns a second time.
        """
        keys = sql.SQL(", ").join(enum_sql.identifier(name) for name, _ in table.key)
        conditions = []
        if after is not None:
            conditions.append(sql.SQL("({}) > ({})").format(keys, self._key(table, after)))
        if upper is not None:
            conditions.append(sql.SQL("({}) <= ({})").format(keys, self._key(table, upper)))
        where = sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(conditions)) if conditions \
            else sql.SQL("")
        target = table.table.identifier
        sets = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(enum_sql.identifier(column.shadow), self._mapped(
                sql.SQL("{}.{}").format(target, enum_sql.identifier(column.name)), column))
            for column in table.columns
        )
        return sql.SQL("UPDATE {} SET {}{}").format(target, sets, where)

    def _batch_end(self, table: OnlineTable, after: list | None, size: int):
        """The last key of the next batch (no row: fewer than ``size`` rows are left)."""
        keys = sql.SQL(", ").join(enum_sql.identifier(name) for name, _ in table.key)
        as_text = sql.SQL(", ").join(sql.SQL("{}::text").format(enum_sql.identifier(name))
                                     for name, _ in table.key)
        where = sql.SQL("")
        if after is not None:
            where = sql.SQL(" WHERE ({}) > ({})").format(keys, self._key(table, after))
        # Ordered by the table's columns, qualified: a bare name would sort by the output
        # column of the same name, the key as text ("100000" before "9"), in a full sort.
        ordered = sql.SQL(", ").join(
            sql.SQL("{}.{}").format(table.table.identifier, enum_sql.identifier(name))
            for name, _ in table.key)
        return sql.SQL("SELECT {} FROM {}{} ORDER BY {} OFFSET {} LIMIT 1").format(
            as_text, table.table.identifier, where, ordered, sql.Literal(size - 1))

    def _key(self, table: OnlineTable, values: list) -> sql.Composable:
        """A key's values (text, as recorded) cast to the key's types; ``sqlmigrate`` shows one
        placeholder for the whole key instead."""
        if len(values) == 1 and isinstance(values[0], sql.Placeholder):
            return values[0]
        return sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Literal(value), enum_sql.catalog_definition(kind))
            for value, (_, kind) in zip(values, table.key, strict=True)
        )

    def _index(self, table: OnlineTable, index: IndexCopy) -> sql.Composable:
        unique, tail = enum_sql.index_tail(index.definition)
        return sql.SQL("CREATE {}INDEX CONCURRENTLY {} ON {} {}").format(
            sql.SQL("UNIQUE " if unique else ""), enum_sql.identifier(index.copy),
            table.table.identifier, self._rewrite(table, tail))

    def _rewrite(self, table: OnlineTable, text: str) -> sql.SQL:
        raw = self.connection.connection

        def quote(name: str) -> str:
            return sql.Identifier(name).as_string(raw)

        self.connection.ensure_connection()
        return sql.SQL(enum_sql.rewrite_references(
            text, table.renames, self.plan.schema, self.plan.type_name, self.plan.new_type,
            quote))

    def _proof(self, column: ShadowColumn) -> sql.Composable:
        shadow = enum_sql.identifier(column.shadow)
        if column.not_null:
            return sql.SQL("CHECK ({} IS NOT NULL)").format(shadow)
        return sql.SQL("CHECK ({} IS NULL OR {} IS NOT NULL)").format(
            enum_sql.identifier(column.name), shadow)

    def _switch_table(self, table: OnlineTable) -> list:
        target = table.table.identifier
        statements = []
        if table.columns:
            statements.append(sql.SQL("DROP TRIGGER {} ON {}").format(
                enum_sql.identifier(self._trigger_name()), target))
        statements += [
            enum_sql.drop_index(enum_sql.table_name(index.schema, index.name))
            for index in table.indexes if index.constraint is None
        ]
        drops = [enum_sql.drop_constraint(index.constraint)
                 for index in table.indexes if index.constraint is not None]
        drops += [enum_sql.drop_constraint(check.name) for check in table.checks]
        # A nullable column's proof names the old column; a NOT NULL one's stays for SET NOT NULL.
        drops += [enum_sql.drop_constraint(column.proof)
                  for column in table.columns if not column.not_null]
        drops += [sql.SQL("DROP COLUMN {}").format(enum_sql.identifier(column.name))
                  for column in table.columns]
        if drops:
            statements.append(enum_sql.alter_table(target, drops))
        statements += [
            sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
                target, enum_sql.identifier(column.shadow), enum_sql.identifier(column.name))
            for column in table.columns
        ]
        for index in table.indexes:
            copy = enum_sql.table_name(index.schema, index.copy)
            statements += self._index_column_renames(table, index, copy)
            if index.constraint is None:
                statements.append(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    copy, enum_sql.identifier(index.name)))
                if index.comment is not None:
                    statements.append(enum_sql.comment_on(
                        "INDEX", enum_sql.table_name(index.schema, index.name), index.comment))
            else:
                statements.append(enum_sql.alter_table(target, [sql.SQL(
                    "ADD CONSTRAINT {} UNIQUE USING INDEX {}").format(
                        enum_sql.identifier(index.constraint), enum_sql.identifier(index.copy))]))
                if index.constraint_comment is not None:
                    statements.append(enum_sql.comment_on(
                        "CONSTRAINT", enum_sql.constraint_on(index.constraint, target),
                        index.constraint_comment))
        for check in table.checks:
            statements.append(sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                target, enum_sql.identifier(check.copy), enum_sql.identifier(check.name)))
            if check.comment is not None:
                statements.append(enum_sql.comment_on(
                    "CONSTRAINT", enum_sql.constraint_on(check.name, target), check.comment))
        settings = [enum_sql.set_default(column, self._default(table, default))
                    for column, default in table.defaults]
        settings += [sql.SQL("ALTER COLUMN {} SET NOT NULL").format(
            enum_sql.identifier(column.name)) for column in table.columns if column.not_null]
        if settings:
            statements.append(enum_sql.alter_table(target, settings))
        proofs = [enum_sql.drop_constraint(column.proof)
                  for column in table.columns if column.not_null]
        if proofs:
            statements.append(enum_sql.alter_table(target, proofs))
        if table.columns:
            statements += [
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    target, enum_sql.identifier(column.name), sql.Literal(column.comment))
                for column in table.columns if column.comment is not None
            ]
            statements.append(sql.SQL("DROP FUNCTION {}()").format(self._function_name(table)))
        return statements

    def _index_column_renames(self, table: OnlineTable, index: IndexCopy, copy) -> list:
        """A copy's key columns are named after the shadow columns: give them the old names,
        so nothing named ``betintel_`` stays in the catalog (psql shows index columns)."""
        if self.editor.collect_sql:
            return []
        shadows = {column.shadow: column.name for column in table.columns}
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relname = %s AND a.attnum > 0 ORDER BY a.attnum",
                [index.schema, index.copy])
            names = [row[0] for row in cursor.fetchall()]
        return [
            sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
                copy, enum_sql.identifier(name), enum_sql.identifier(shadows[name]))
            for name in names if name in shadows
        ]

    def _default(self, table: OnlineTable, default) -> sql.Composable:
        from .swap import _new_default

        new = _new_default(self.connection, default, self.plan.new_type, self.plan.value,
                           self.plan.replacement)
        if isinstance(new, sql.SQL):  # an expression kept as the server deparsed it
            return self._rewrite(table, default.expression)
        return new

    def _switch_type(self) -> list:
        online = self.plan
        old = old_type_name(online.type_oid)
        statements = [
            enum_sql.rename_type(online.type_name, old),
            enum_sql.rename_type(online.new_type, online.type_name),
        ]
        if online.owner is not None:
            statements.append(enum_sql.alter_type_owner(online.type_name, online.owner))
        statements.append(enum_sql.comment_on_type(online.type_name, online.comment))
        # Kept (with the state) until sessions that waited for it have finished: see
        # ``drop_old_type``.
        statements.append(enum_sql.comment_on_type(old, online.state("switch")))
        return statements

    # Running statements ---------------------------------------------------------------------

    def _run(self, statement) -> None:
        enum_sql.execute(self.editor, statement)

    def _locked(self, statements: list, tables: list[locks.Table]) -> None:
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

    def _attempts(self, work: Callable, tables: list[locks.Table]):
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
                    blockers = locks.blocking_sessions(connection, [t.oid for t in tables])
                    raise LockNotAcquired(
                        locks._give_up_message([str(t) for t in tables], self.purpose, timeout,
                                               attempt + 1, time.monotonic() - started,
                                               blockers)
                        + " The online swap stays where it is; migrate resumes it.",
                        blockers,
                    ) from exc
            time.sleep(locks.backoff(attempt))
        return None

    def _record(self, step: str) -> None:
        self.step = step
        if self.editor.collect_sql:
            return
        self._write_state(step)

    def interrupted(self, exc: BaseException) -> str:
        """What to tell when a database error stopped the swap."""
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"The online swap removing {self.plan.value!r} from enum type "
            f"{self.plan.type_name} stopped at its {self.step} step ({cause}). The tables are "
            "usable with all their rows, and enum_status shows the swap under way; run migrate "
            "again to resume and finish it."
        )

    def _write_state(self, step: str, cursor=None) -> None:
        statement = enum_sql.comment_on_type(self.plan.new_type, self.plan.state(step, self.keys))
        if cursor is None:
            self._run(statement)
        else:
            cursor.execute(enum_sql.render(statement, self.connection))

    def _backfill_table(self, table: OnlineTable, limit: int) -> None:
        key = str(table.info.oid)
        after = self.keys.get(key)
        bar = _progress(table)
        size = limit

        def work(cursor, after, size):
            cursor.execute("SELECT set_config(%s, 'on', true)", [BACKFILL_SETTING])
            cursor.execute(enum_sql.render(self._batch_end(table, after, size), self.connection))
            row = cursor.fetchone()
            upper = list(row) if row else None
            cursor.execute(enum_sql.render(self._batch(table, after, upper), self.connection))
            copied = cursor.rowcount
            self.keys[key] = upper if upper is not None else "done"
            self._write_state("backfill", cursor)
            return upper, copied

        try:
            while after != "done":
                started = time.monotonic()
                after, copied = self._attempts(
                    lambda cursor, after=after, size=size: work(cursor, after, size),
                    [table.table])
                size = next_batch_size(limit, copied, time.monotonic() - started)
                after = "done" if after is None else after
                if bar is not None:
                    bar.update(copied)
        finally:
            if bar is not None:
                bar.close()

    # Catalog look-ups -----------------------------------------------------------------------

    def _fetch(self, query: str, params: list):
        with self.connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone()

    def _column_exists(self, table: OnlineTable, name: str) -> bool:
        return self._fetch(
            "SELECT 1 FROM pg_attribute WHERE attrelid = %s AND attname = %s "
            "AND NOT attisdropped", [table.info.oid, name]) is not None

    def _index_valid(self, index: IndexCopy) -> bool | None:
        if self.editor.collect_sql:
            return None
        row = self._fetch(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relname = %s", [index.schema, index.copy])
        return row[0] if row else None

    def _constraint_state(self, table: OnlineTable, name: str) -> bool | None:
        """None when missing, else whether it is validated."""
        if self.editor.collect_sql:
            return None
        row = self._fetch("SELECT convalidated FROM pg_constraint WHERE conrelid = %s "
                          "AND conname = %s", [table.info.oid, name])
        return row[0] if row else None

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
            rows = table.info.estimated_rows
            logger.info("  Copying %s: %s (columns: %s)", table.table,
                        f"about {rows:,} rows" if rows >= 0 else "rows not estimated yet",
                        ", ".join(column.name for column in table.columns))


#: How long one backfill batch should hold its rows: a writer that meets a row of the batch
#: waits for the batch to commit, so this bounds the longest stall the backfill causes.
BATCH_SECONDS = 0.05
#: Batches never shrink below this many rows (each batch has a fixed cost of its own).
MIN_BATCH = 100


def next_batch_size(limit: int, copied: int, seconds: float) -> int:
    """Rows for the next batch: as many as the last batch's pace copies in ``BATCH_SECONDS``,
    at most ``limit`` (``ENUM_BACKFILL_BATCH``) and at least ``MIN_BATCH`` (or ``limit``)."""
    if copied <= 0 or seconds <= 0:
        return limit
    paced = int(copied * BATCH_SECONDS / seconds)
    return max(min(MIN_BATCH, limit), min(limit, paced))


def _progress(table: OnlineTable):
    """A progress bar on stderr while ``migrate`` shows the plan (verbosity 1 or more)."""
    if not (logger.isEnabledFor(logging.INFO) and logger.handlers):
        return None
    from tqdm import tqdm

    rows = table.info.estimated_rows
    return tqdm(total=rows if rows > 0 else None, unit=" rows", unit_scale=True,
                desc=f"  {table.table}", file=sys.stderr, mininterval=0.5, leave=True)


def abandon(schema_editor, type_name: str) -> bool:
    """Drop what an unfinished online swap of ``type_name`` left; True if there was one."""
    connection = schema_editor.connection
    existing = introspection.enum_type(connection, type_name)
    if existing is None or schema_editor.collect_sql:
        return False
    new = new_type_name(existing.oid)
    if introspection.enum_type(connection, new) is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.oid::bigint, n.nspname, c.relname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid OR t.typarray = a.atttypid "
            "WHERE t.typname = %s AND t.typnamespace = current_schema()::regnamespace "
            "AND NOT a.attisdropped AND a.attnum > 0 AND c.relkind IN ('r', 'p')",
            [new],
        )
        tables = [locks.Table(*row) for row in cursor.fetchall()]
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    purpose = f"dropping what an unfinished online swap of enum type {type_name} left"
    for table in tables:
        statements = [sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
            enum_sql.identifier(trigger_name(existing.oid)), table.identifier)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "OR t.typarray = a.atttypid WHERE a.attrelid = %s AND t.typname = %s "
                "AND t.typnamespace = current_schema()::regnamespace AND NOT a.attisdropped",
                [table.oid, new])
            shadows = [row[0] for row in cursor.fetchall()]
        if shadows:
            statements.append(enum_sql.alter_table(table.identifier, [
                sql.SQL("DROP COLUMN {}").format(enum_sql.identifier(name)) for name in shadows]))
        statements.append(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(
            enum_sql.table_name(schema, function_name(existing.oid, table.oid))))
        for statement in statements:
            locks.run_locked(schema_editor, statement, purpose, tables=[table])
    # Copies of indexes and constraints on other columns name the new type: ours, by name.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT n.nspname, c.relname, con.conname FROM pg_depend d "
            "JOIN pg_type t ON t.oid = d.refobjid "
            "LEFT JOIN pg_constraint con ON d.classid = 'pg_constraint'::regclass "
            "AND con.oid = d.objid "
            "JOIN pg_class c ON c.oid = CASE WHEN con.oid IS NULL THEN d.objid "
            "ELSE con.conrelid END "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE d.refclassid = 'pg_type'::regclass AND t.typname = %s "
            "AND t.typnamespace = current_schema()::regnamespace "
            "AND (con.oid IS NOT NULL OR (d.classid = 'pg_class'::regclass AND c.relkind = 'i'))"
            "AND left(coalesce(con.conname, c.relname), 9) = 'betintel_'",
            [new],
        )
        copies = cursor.fetchall()
    for schema_name, relation, constraint in copies:
        target = enum_sql.table_name(schema_name, relation)
        enum_sql.execute(schema_editor, enum_sql.drop_index(target) if constraint is None
                         else enum_sql.alter_table(target, [enum_sql.drop_constraint(constraint)]))
    # Without CASCADE: anything else using the new type makes this fail, naming it.
    enum_sql.execute(schema_editor, enum_sql.drop_type(new))
    return True


# Converting a column online (SPEC §4b) ------------------------------------------------------
#
# A character column becoming an enum column (or the way back) is a change of one column's
# type: the same steps as a swap, on one table, with no new type. The shadow column has the
# target type and is filled through the conversion's ``USING`` expression, guarded so that a
# value the target cannot hold gives NULL instead of an error (a write during the conversion
# never fails because of it). Such a row is not lost: its old column still holds the value,
# and the helper CHECK proving every row has its shadow value refuses to validate, so the
# conversion stops before its switch, naming the values, and resumes once they are changed.
# The state lives in the comment of the trigger's function, which exists from the shadow step
# to the switch; nothing holds the enum type, as nothing a concurrent ``ADD VALUE`` does can be
# lost (the label check reads the type's labels when it runs).

CONVERSION_KEY = "online_conversion"
_CONVERSION_PREFIX = f"{PREFIX}conv_"


def conversion_trigger_name(attnum: int) -> str:
    return f"{_CONVERSION_PREFIX}{attnum}"


def conversion_function_name(table_oid: int, attnum: int) -> str:
    return f"{_CONVERSION_PREFIX}{table_oid}_{attnum}"


@dataclass
class ConversionPlan(OnlinePlan):
    """The online conversion of one column; ``conversion`` is its ``ColumnConversion``."""

    conversion: object = None
    attnum: int = 0
    max_length: int | None = None

    @property
    def table(self) -> OnlineTable:
        return self.tables[0]

    @property
    def column(self) -> ShadowColumn:
        return self.table.columns[0]

    @property
    def function(self) -> str:
        return conversion_function_name(self.table.info.oid, self.attnum)

    def state(self, step: str, keys: dict | None = None) -> str:
        """The state recorded in the comment of the trigger's function."""
        conversion = self.conversion
        record = {"type": self.type_name, "table": str(self.table.table),
                  "column": conversion.column, "target": conversion.target_type,
                  "step": step, "keys": keys or {}}
        return json.dumps({introspection.COMMENT_KEY: {CONVERSION_KEY: record}}, sort_keys=True)


class _NoDependents:
    defaults: list = []


def plan_conversion(connection, conversion) -> ConversionPlan:
    """The online plan of ``conversion`` (a ``conversion.ColumnConversion`` with its table)."""
    target = conversion.table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attnum, pg_total_relation_size(c.oid), c.reltuples::bigint "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE a.attrelid = %s AND a.attname = %s AND NOT a.attisdropped",
            [target.oid, conversion.column])
        attnum, size, rows = cursor.fetchone()
        info = TableInfo(target.oid, target.schema, target.name, rows, size)
        table = OnlineTable(info, columns=[
            ShadowColumn(conversion.column, attnum, conversion.array, False, None)])
        existing = introspection.enum_type(connection, conversion.type_name)
        online = ConversionPlan(
            type_name=conversion.type_name, type_oid=existing.oid if existing else 0,
            schema=target.schema, value="", replacement=None,
            values=list(existing.values) if existing else [], comment=None, owner=None,
            tables=[table], conversion=conversion, attnum=attnum,
            max_length=_max_length(conversion),
        )
        # Only the converted column's own indexes and CHECKs: other columns of the type stay.
        _complete_table(cursor, online, table, [], _NoDependents,
                        sync_trigger=conversion_trigger_name(attnum))
    _plan_conversion_dependents(online, conversion)
    return online


def _max_length(conversion) -> int | None:
    if conversion.to_enum or conversion.character_field is None:
        return None
    inner = conversion.character_field
    while getattr(inner, "base_field", None) is not None:
        inner = inner.base_field
    return getattr(inner, "max_length", None)


def _plan_conversion_dependents(online: ConversionPlan, conversion) -> None:
    """Django's ``_like`` index goes (to the enum); indexes and CHECKs of the model's ``Meta``
    over the column are made from the target model, as the in-place conversion makes them."""
    table = online.table
    table.indexes = [index for index in table.indexes
                     if index.name not in conversion.pattern_indexes]
    rebuilt = {new.name: new for _old, new in
               [*conversion.rebuilt_indexes, *conversion.rebuilt_constraints]}
    for index in table.indexes:
        if index.name in rebuilt:
            index.definition = _django_index(conversion, rebuilt[index.name])
    for check in table.checks:
        if check.name in rebuilt:
            check.definition = _django_check(conversion, rebuilt[check.name])
    if conversion.new_default is not None:
        table.defaults = [(conversion.column, conversion.new_default)]


def _django_index(conversion, index) -> str:
    """The definition Django gives ``index`` (an ``Index`` or a conditional
    ``UniqueConstraint``) on the target model, in ``pg_get_indexdef``'s shape."""
    from django.db import connection as default

    model = conversion.target_model
    editor = default.schema_editor(collect_sql=True, atomic=False)
    statement = index.create_sql(model, editor)
    # ``CREATE [UNIQUE] INDEX name ON table (...) ...`` gains the ``USING`` its tail starts at.
    text = str(statement)
    on = text.index(" ON ")
    table_end = text.index(" (", on)
    return text[:table_end] + " USING btree" + text[table_end:] if " USING " not in text \
        else text


def _django_check(conversion, constraint) -> str:
    from django.db import connection as default

    editor = default.schema_editor(collect_sql=True, atomic=False)
    return f"CHECK ({constraint._get_check_sql(conversion.target_model, editor)})"


def choose_conversion(schema_editor, conversion) -> ConversionPlan | None:
    """The online plan when this conversion runs online, else None (``choose``'s rules)."""
    mode = conf.swap_mode()
    if mode == BLOCKING or conversion.table is None:
        return None

    def build(connection) -> ConversionPlan:
        return plan_conversion(connection, conversion)

    def resumes(connection, online: ConversionPlan) -> bool:
        return conversion_state(connection, online) is not None

    def fall_back(online: ConversionPlan, reasons: str, resuming: bool) -> None:
        logger.info("The conversion %s runs in place, not online: %s.", conversion.purpose,
                    reasons)
        # What an earlier online attempt left would otherwise stay beside the in-place result.
        if resuming and not schema_editor.collect_sql:
            abandon_conversion(schema_editor, online)

    return _decide(
        schema_editor, mode, build, resumes, fall_back,
        atomic_refusal=(
            f"ENUM_SWAP=online, but the migration {conversion.purpose} is atomic, and an "
            "online conversion runs many short transactions. Nothing was changed. Set atomic "
            "= False on the migration, or set ENUM_SWAP=auto or blocking."
        ),
        reasons_refusal=lambda reasons: (
            f"ENUM_SWAP=online, but {conversion.purpose} cannot run online: {reasons}. "
            "Nothing was changed. Set ENUM_SWAP=auto to convert in place (the table is "
            "locked while it is rewritten), or change those objects in an earlier migration."
        ),
    )


def conversion_state(connection, online: ConversionPlan) -> dict | None:
    """The recorded state of an online conversion of this column left under way, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s "
            "AND p.proname = %s", [online.schema, online.function])
        row = cursor.fetchone()
    if row is None:
        return None
    record = introspection.parse_comment(row[0]).get(introspection.COMMENT_KEY) or {}
    return record.get(CONVERSION_KEY) or {"step": "shadow"}


def conversions_under_way(connection) -> dict[str, dict]:
    """Online conversions left unfinished, by ``schema.table.column``: their recorded state."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p "
            "WHERE left(p.proname, %s) = %s",
            [len(_CONVERSION_PREFIX), _CONVERSION_PREFIX])
        comments = [row[0] for row in cursor.fetchall()]
    found = {}
    for comment in comments:
        record = introspection.parse_comment(comment).get(introspection.COMMENT_KEY) or {}
        state = record.get(CONVERSION_KEY)
        if isinstance(state, dict) and state.get("table"):
            found[f"{state['table']}.{state.get('column')}"] = state
    return found


def abandon_conversion(schema_editor, online: ConversionPlan) -> None:
    """Drop what an unfinished online conversion of this column left: the trigger, the shadow
    column (its index copies and CHECKs go with it) and the function."""
    table = online.table
    target = table.table.identifier
    statements = [
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
            enum_sql.identifier(conversion_trigger_name(online.attnum)), target),
        enum_sql.alter_table(target, [sql.SQL("DROP COLUMN IF EXISTS {}").format(
            enum_sql.identifier(online.column.shadow))]),
        sql.SQL("DROP FUNCTION IF EXISTS {}()").format(
            enum_sql.table_name(online.schema, online.function)),
    ]
    purpose = f"dropping what an unfinished online conversion of {online.conversion.purpose} left"
    for statement in statements:
        locks.run_locked(schema_editor, statement, purpose, tables=[table.table])


def leave_conversion(schema_editor, conversion) -> None:
    """Before converting in place: drop what an interrupted online conversion of the same
    column left (its trigger would otherwise go on filling a shadow column nobody switches)."""
    if conversion.table is None or schema_editor.collect_sql:
        return
    online = plan_conversion(schema_editor.connection, conversion)
    if conversion_state(schema_editor.connection, online) is not None:
        logger.info("Dropping what an unfinished online conversion of column %s of table %s "
                    "left, to convert it in place.", conversion.column, conversion.table)
        abandon_conversion(schema_editor, online)


def convert(schema_editor, online: ConversionPlan) -> None:
    """Run (or resume) the online conversion ``online``, then analyse its table."""
    conversion = OnlineConversion(schema_editor, online)
    if schema_editor.collect_sql:
        conversion.show()
        return
    try:
        conversion.run()
    except DatabaseError as exc:
        raise SwapInterrupted(conversion.interrupted(exc)) from exc
    conversion.analyze()


class OnlineConversion(OnlineSwap):
    """The online swap's steps applied to converting one column (see the section's comment)."""

    def __init__(self, schema_editor, online: ConversionPlan) -> None:
        super().__init__(schema_editor, online, None)
        self.purpose = f"{online.conversion.purpose} online"

    def run(self, until: str | None = None) -> None:
        """Every step in order (resuming where a previous run stopped), up to ``until``."""
        self._log()
        for step in STEPS:
            getattr(self, step)()
            if step == until:
                return

    def shadow(self) -> None:
        """The shadow column of the target type, and the trigger filling it on every write."""
        online = self.plan
        state = conversion_state(self.connection, online)
        if state is not None and state.get("target") not in (None,
                                                              online.conversion.target_type):
            abandon_conversion(self.editor, online)  # another conversion was under way
            state = None
        if state is not None:
            self.keys = dict(state.get("keys") or {})
        self.step = "shadow"
        table, column = online.table, online.column
        actions = [] if self._column_exists(table, column.shadow) else [
            enum_sql.add_column(column.shadow, sql.SQL(online.conversion.target_type))]
        statements = [enum_sql.alter_table(table.table.identifier, actions)] if actions else []
        statements += [self._function(table), self._drop_trigger(table), self._trigger(table),
                       self._state_comment("shadow")]
        self._locked(statements, [table.table])

    def _record(self, step: str) -> None:
        self.step = step
        if not self.editor.collect_sql:
            self._write_state(step)

    def show(self) -> None:
        """Under ``sqlmigrate``: every step's statements, none of them run."""
        self._run(sql.SQL("-- Online conversion: {}").format(
            sql.SQL(self.purpose.replace("\n", " "))))
        for step in STEPS:
            self._run(sql.SQL("-- step: {}").format(sql.SQL(step)))
            getattr(self, step)()
        self._run(sql.SQL("ANALYZE {}").format(self.plan.table.table.identifier))

    def _write_state(self, step: str, cursor=None) -> None:
        statement = self._state_comment(step)
        if cursor is None:
            self._run(statement)
        else:
            cursor.execute(enum_sql.render(statement, self.connection))

    def _state_comment(self, step: str) -> sql.Composable:
        return sql.SQL("COMMENT ON FUNCTION {}() IS {}").format(
            self._function_name(self.plan.table), sql.Literal(self.plan.state(step, self.keys)))

    def _trigger_name(self) -> str:
        return conversion_trigger_name(self.plan.attnum)

    def _function_name(self, table: OnlineTable) -> sql.Composable:
        return enum_sql.table_name(self.plan.schema, self.plan.function)

    def _mapped(self, source: sql.Composable, column: ShadowColumn) -> sql.Composable:
        """``source`` through the conversion's ``USING`` expression; NULL where the target type
        cannot hold the value (a label the enum type lacks, a value too long)."""
        conversion = self.plan.conversion
        via = sql.SQL("text[]" if column.array else "text")
        as_text = sql.SQL("({})::{}").format(source, via)
        converted = sql.SQL("({})::{}").format(as_text, sql.SQL(conversion.target_type))
        if conversion.to_enum:
            # The labels read when the statement runs: a value added meanwhile is accepted.
            labels = sql.SQL("(SELECT enum_range(NULL::{})::text[])").format(
                enum_sql.enum_type_of(conversion.type_name, False))
            fits = (sql.SQL("array_remove({}, NULL) <@ {}") if column.array
                    else sql.SQL("{} = ANY({}::text[])")).format(as_text, labels)
        elif self.plan.max_length is not None:
            bound = sql.Literal(self.plan.max_length)
            fits = (sql.SQL("NOT EXISTS (SELECT FROM unnest({}) v WHERE char_length(v) > {})")
                    if column.array else sql.SQL("char_length({}) <= {}")).format(as_text, bound)
        else:
            return converted
        return sql.SQL("CASE WHEN {} THEN {} END").format(fits, converted)

    def _rewrite(self, table: OnlineTable, text: str) -> sql.SQL:
        raw = self.connection.connection

        def quote(name: str) -> str:
            return sql.Identifier(name).as_string(raw)

        self.connection.ensure_connection()
        # No type changes its name here: only the column references move to the shadow column.
        return sql.SQL(enum_sql.rewrite_references(text, table.renames, self.plan.schema, "",
                                                   "", quote))

    def _default(self, table: OnlineTable, default) -> sql.Composable:
        return default  # the conversion's default, already a constant of the target type

    def _switch_type(self) -> list:
        return []

    def _refusal(self, table: OnlineTable, original: str | None) -> str:
        from . import conversion as conversions

        conversion = self.plan.conversion
        where = f"The online {conversion.purpose} stopped at its constraints step"
        after = (" The column is unchanged and usable, and the conversion stays under way. "
                 "Change those rows, then run migrate again to finish it.")
        if original is not None:
            return (f"{where}: constraint {original} does not hold for some rows in the new "
                    f"type.{after}")
        if conversion.to_enum:
            labels = list(introspection.enum_type(self.connection, conversion.type_name).values)
            found = conversions.stray_values(self.connection, conversion, labels)
            what = f"values that are not values of enum type {conversion.type_name}"
        else:
            found = conversions.too_long_values(self.connection, conversion,
                                                self.plan.max_length or 0)
            what = f"values longer than {self.plan.max_length} characters"
        return f"{where}: rows written while it ran hold {what}: {found.describe()}.{after}"

    def switch(self) -> None:
        """The table's catalog changes, in one short transaction under the lock budget."""
        self._record("switch")
        table = self.plan.table
        statements = self._switch_table(table)
        if self.editor.collect_sql:
            self._run(sql.SQL("-- switch: one transaction"))
            locks.lock_tables(self.editor, [table.table], self.purpose)
            for statement in statements:
                self._run(statement)
            return
        self._switch_locked(self.editor, [table.table], statements, "The online conversion "
                            "stays under way at its switch step; the table is usable, and the "
                            "next migrate finishes it.")

    def _refuse_if_changed(self, connection) -> None:
        fresh = plan_conversion(connection, self.plan.conversion)
        if _shape(fresh) != _shape(self.plan):
            raise RefusedChange(
                f"Table {self.plan.table.table} changed during the online "
                f"{self.plan.conversion.purpose} (an index, constraint or default on the column "
                "was added or dropped), so the switch did not happen. The conversion stays "
                "under way and the table is usable; run migrate again to include the change "
                "and finish it."
            )

    def interrupted(self, exc: BaseException) -> str:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"The online {self.plan.conversion.purpose} stopped at its {self.step} step "
            f"({cause}). The table is usable with all its rows; run migrate again to resume "
            "and finish it."
        )

    def _log(self) -> None:
        rows = self.plan.table.info.estimated_rows
        logger.info("%s online: %s copied beside live traffic, then switched under a short "
                    "lock.", self.plan.conversion.purpose[0].upper()
                    + self.plan.conversion.purpose[1:],
                    f"about {rows:,} rows" if rows >= 0 else "rows not estimated yet")
