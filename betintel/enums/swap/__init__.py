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
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from psycopg import sql

from .. import conf, introspection, locks, old_types, online
from .. import sql as enum_sql
from ..deprecation import comment_without_value
from ..errors import EnumMigrationError, RefusedChange, sqlstate
from ..introspection import (
    Column,
    Constraint,
    Default,
    Dependents,
    Index,
    Table,
    type_dependents,
)

#: The rewrite plan is logged here before any table is rewritten; ``migrate`` shows it.
logger = logging.getLogger(__name__)


@dataclass
class TablePlan:
    """What the swap does to one table: one main ``ALTER TABLE`` (the only rewrite), and the
    catalog-only steps that must come before or after every table's main one."""

    table: Table
    columns: list[Column] = field(default_factory=list)
    defaults: list[tuple[Default, sql.Composable]] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    #: Defaults of inherited columns: dropped before the parent converts them, set after.
    inherited_defaults: list[tuple[Default, sql.Composable]] = field(default_factory=list)
    #: Foreign keys between columns of the type: both sides must have the new type first.
    foreign_keys: list[Constraint] = field(default_factory=list)

    def before_statement(self):
        actions = [enum_sql.drop_constraint(key.name) for key in self.foreign_keys]
        actions += [enum_sql.drop_default(default.column) for default, _ in self.inherited_defaults]
        return self._alter(actions)

    def main_statement(self, type_name: str, value: str, replacement: str | None):
        """Drops, conversions, then what is put back: PostgreSQL rewrites the table once and
        checks the constraints put back during that rewrite."""
        actions: list[sql.Composable] = [enum_sql.drop_constraint(c.name) for c in self.constraints]
        actions += [enum_sql.drop_default(default.column) for default, _ in self.defaults]
        actions += [
            enum_sql.alter_column_type(column.name, type_name, column.array, value, replacement)
            for column in self.columns
        ]
        actions += [enum_sql.set_default(default.column, new) for default, new in self.defaults]
        actions += [enum_sql.add_constraint(c.name, c.definition) for c in self.constraints]
        return self._alter(actions)

    def after_statement(self):
        actions = [enum_sql.set_default(default.column, new)
                   for default, new in self.inherited_defaults]
        actions += [enum_sql.add_constraint(key.name, key.definition) for key in self.foreign_keys]
        return self._alter(actions)

    def comments(self) -> list:
        """``COMMENT ON CONSTRAINT`` for the constraints this plan drops and adds again."""
        return [
            enum_sql.comment_on(
                "CONSTRAINT", enum_sql.constraint_on(c.name, self.table.identifier), c.comment
            )
            for c in [*self.constraints, *self.foreign_keys]
            if c.comment is not None
        ]

    def _alter(self, actions: list):
        return enum_sql.alter_table(self.table.identifier, actions) if actions else None


@dataclass
class SwapPlan:
    """The whole swap of one type, derived from the catalog before anything changes."""

    type_name: str
    old_name: str
    value: str
    replacement: str | None
    values: list[str]
    comment: str | None
    tables: list[TablePlan]
    indexes: list[Index]
    #: The old type's owner, when it is not the role running the migration.
    owner: str | None = None
    #: The old type's values when the swap read them (under its lock).
    old_values: list[str] = field(default_factory=list)
    #: The schema of the type; None for statements shown as written (sqlmigrate).
    schema: str | None = None

    @property
    def qualified(self) -> str | tuple[str, str]:
        """The type as statements name it (with its schema, so search_path cannot misdirect
        them)."""
        return (self.schema, self.type_name) if self.schema else self.type_name

    @property
    def old_qualified(self) -> str | tuple[str, str]:
        return (self.schema, self.old_name) if self.schema else self.old_name


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
            _refuse_if_rows_hold(connection, blocking, advice)
        online.remove_value(schema_editor, online_plan)
        return True
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
        plan = _checked_plan(connection, existing, value, replacement)
        if replacement is None:
            _refuse_if_rows_hold(connection, plan, advice)
        _log_plan(plan)
        online.abandon(schema_editor, type_name)  # what an unfinished online swap left
        locks.lock_tables(schema_editor, [table.table for table in plan.tables],
                          f"removing {value!r} from enum type {type_name}")
        _execute(schema_editor, plan)
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
    _check_replacement(existing, value, replacement)
    dependents = type_dependents(connection, existing.name, existing.schema)
    if dependents.blockers:
        return None, None  # the blocking path refuses, naming them
    blocking = _plan(connection, existing, value, replacement, dependents)
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
    plan = _checked_plan(connection, existing, value, replacement)
    plan.schema = None  # shown as the migration names it
    locks.run_locked(schema_editor, enum_sql.comment_on_type(type_name, existing.comment),
                     f"holding enum type {type_name}", type_name=type_name)
    locks.lock_tables(schema_editor, [table.table for table in plan.tables],
                      f"removing {value!r} from enum type {type_name}")
    _execute(schema_editor, plan)
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


def _checked_plan(connection, existing, value: str, replacement: str | None) -> SwapPlan:
    _check_replacement(existing, value, replacement)
    dependents = type_dependents(connection, existing.name, existing.schema)
    if dependents.blockers:
        raise RefusedChange(
            f"Value {value!r} cannot be removed from enum type {existing.name}: it is used by "
            f"{', '.join(dependents.blockers)}, which a type swap cannot rebuild. Nothing was "
            "changed. Drop those objects in a migration before this one and create them again "
            "in one after it."
        )
    return _plan(connection, existing, value, replacement, dependents)


def _check_replacement(existing, value: str, replacement: str | None) -> None:
    if replacement is None:
        return
    if replacement == value:
        raise RefusedChange(
            f"Value {value!r} of enum type {existing.name} cannot replace itself. Name another "
            "value of the type as its replacement."
        )
    if replacement not in existing.values:
        raise RefusedChange(
            f"Replacement {replacement!r} is not a value of enum type {existing.name} (it has "
            f"{list(existing.values)}), so rows holding {value!r} cannot move to it. Nothing "
            "was changed. Add the replacement first (AddEnumValue in an earlier migration) or "
            "name an existing value."
        )


def _plan(connection, existing, value, replacement, dependents: Dependents) -> SwapPlan:
    tables = {oid: TablePlan(table) for oid, table in dependents.tables.items()}
    for column in dependents.columns:
        tables[column.table_oid].columns.append(column)
    for default in dependents.defaults:
        new = _new_default(connection, default, existing.name, value, replacement,
                           existing.qualified)
        plan = tables[default.table_oid]
        if default.inherited and default.array is not None:
            plan.inherited_defaults.append((default, new))
        else:
            plan.defaults.append((default, new))
    for constraint in dependents.constraints:
        _refuse_if_named(constraint.definition, f"constraint {constraint.name} on table "
                         f"{constraint.schema}.{constraint.table}", existing.name, value)
        tables[constraint.table_oid].constraints.append(constraint)
    for key in dependents.foreign_keys:
        tables[key.table_oid].foreign_keys.append(key)
    for index in dependents.indexes:
        _refuse_if_named(index.definition, f"index {index.schema}.{index.name}", existing.name,
                         value)
    return SwapPlan(
        type_name=existing.name,
        old_name=f"{old_types.BLOCKING_PREFIX}{existing.oid}",
        value=value,
        replacement=replacement,
        values=[v for v in existing.values if v != value],
        comment=comment_without_value(existing.comment, value, replacement),
        tables=sorted(tables.values(), key=lambda p: (p.table.schema, p.table.name)),
        indexes=dependents.indexes,
        owner=introspection.other_owner(connection, existing.oid),
        old_values=list(existing.values),
        schema=existing.schema,
    )


def _names_value(definition: str, value: str) -> bool:
    """Whether a deparsed definition holds ``value`` as a constant (``'value'::type``)."""
    return "'" + value.replace("'", "''") + "'::" in definition


def _refuse_if_named(definition: str, what: str, type_name: str, value: str) -> None:
    if _names_value(definition, value):
        raise RefusedChange(
            f"The {what} names value {value!r} of enum type {type_name} ({definition}), so the "
            "value cannot be removed: the definition would no longer be valid. Nothing was "
            f"changed. Change or drop the {what} in an earlier migration so it no longer names "
            f"{value!r}, then remove the value."
        )


def _new_default(connection, default: Default, type_name, value, replacement, target=None):
    """The default to put back: a constant is mapped like the rows; anything else is kept.
    ``target`` names the type in the constant (with its schema), ``type_name`` by default."""
    what = f"default of column {default.column} of table {default.schema}.{default.table}"
    array = default.array
    constant = re.fullmatch(
        r"'((?:[^']|'')*)'::" + re.escape(default.column_type), default.expression
    )
    if array is None or constant is None:
        _refuse_if_named(default.expression, what, type_name, value)
        return enum_sql.catalog_definition(default.expression)
    text = constant.group(1).replace("''", "'")
    if array:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT %s = ANY(%s::text[]), array_replace(%s::text[], %s, %s)::text",
                [value, text, text, value, replacement],
            )
            holds, mapped = cursor.fetchone()
    else:
        holds, mapped = text == value, replacement if text == value else text
    if holds and replacement is None:
        raise RefusedChange(
            f"The {what} is {default.expression}, which holds value {value!r} of enum type "
            f"{type_name}, and no replacement was given. Nothing was changed. Give a "
            "replacement, or change the default in an earlier migration."
        )
    return enum_sql.typed_literal(mapped, target or type_name, array)


def _refuse_if_rows_hold(connection, plan: SwapPlan, advice: str | None) -> None:
    """Refuse, naming the row count per column, when rows hold the value and nothing replaces it."""
    held = []
    with connection.cursor() as cursor:
        for table in plan.tables:
            if not table.columns:
                continue
            columns = [(column.name, column.array) for column in table.columns]
            query = enum_sql.count_holding(table.table.identifier, columns, plan.value)
            cursor.execute(enum_sql.render(query, connection))
            counts = cursor.fetchone()
            held += [
                f"{table.table}.{column.name}: {count} row{'s' if count != 1 else ''}"
                for column, count in zip(table.columns, counts, strict=True)
                if count
            ]
    if held:
        advice = advice or (
            "Give a replacement (RemoveEnumValue(..., replacement=...), or "
            "deprecated(label, replacement=...) in the code) so those rows move to it, or move "
            "them to another value in a data migration first."
        )
        raise RefusedChange(
            f"Value {plan.value!r} of enum type {plan.type_name} is still held by rows "
            f"({'; '.join(held)}), so it was not removed and nothing was changed. {advice}"
        )


def _log_plan(plan: SwapPlan) -> None:
    rewritten = [table for table in plan.tables if table.columns]
    moved = f" (rows move to {plan.replacement!r})" if plan.replacement is not None else ""
    logger.info(
        "Removing %r from enum type %s%s by a type swap; %s.",
        plan.value, plan.type_name, moved,
        f"rewriting {len(rewritten)} table{'s' if len(rewritten) != 1 else ''}"
        if rewritten else "no table to rewrite",
    )
    for table in rewritten:
        rows = table.table.estimated_rows
        logger.info(
            "  Rewriting %s: %s, %s (columns: %s)",
            table.table,
            f"about {rows:,} rows" if rows >= 0 else "rows not estimated yet (never analysed)",
            _size(table.table.size_bytes),
            ", ".join(column.name for column in table.columns),
        )


def _size(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} TB"


def _execute(schema_editor, plan: SwapPlan) -> None:
    """Run the swap's statements (the module docstring gives their order and why)."""
    run = _guarded(schema_editor, plan)
    for index in plan.indexes:
        if index.parent is None:  # attached indexes go with their parent
            run(enum_sql.drop_index(enum_sql.table_name(index.schema, index.name)))
    for statement in _each(table.before_statement() for table in plan.tables):
        run(statement)
    run(enum_sql.rename_type(plan.qualified, plan.old_name))
    run(enum_sql.create_type(plan.qualified, plan.values))
    if plan.owner is not None:
        run(enum_sql.alter_type_owner(plan.qualified, plan.owner))
    if plan.comment is not None:
        run(enum_sql.comment_on_type(plan.qualified, plan.comment))
    for table in plan.tables:
        for statement in _each([table.main_statement(plan.qualified, plan.value,
                                                     plan.replacement)]):
            run(statement)
    for statement in _each(table.after_statement() for table in plan.tables):
        run(statement)
    for table in plan.tables:
        for statement in table.comments():
            run(statement)
    for index in plan.indexes:
        run(enum_sql.catalog_definition(index.definition))
        if index.comment is not None:
            target = enum_sql.table_name(index.schema, index.name)
            run(enum_sql.comment_on("INDEX", target, index.comment))
    for index in _deepest_first(plan.indexes):
        run(enum_sql.attach_index(enum_sql.table_name(*index.parent),
                                  enum_sql.table_name(index.schema, index.name)))
    if not schema_editor.collect_sql:
        _prove_droppable(schema_editor, plan)


def _prove_droppable(schema_editor, plan: SwapPlan) -> None:
    """Drop the old type in a savepoint, then keep it, marked, until after commit.

    A failing drop (anything the plan missed still uses it) rolls the whole swap back. The old
    type itself stays until ``after_swap``: a session that named the type before our commit
    and waits for its lock adds its value to the old type once we commit (PostgreSQL does not
    look the name up again), so the value is carried over from there.
    """
    connection = schema_editor.connection
    savepoint = transaction.savepoint(using=connection.alias)
    try:
        enum_sql.execute(schema_editor, enum_sql.drop_type(plan.old_qualified))
    finally:
        transaction.savepoint_rollback(savepoint, using=connection.alias)
    enum_sql.execute(schema_editor, enum_sql.comment_on_type(
        plan.old_qualified, old_types.marker(plan.type_name, plan.old_values)))


def after_swap(connection, plan: SwapPlan) -> None:
    """After the swap committed: finish the old type (``old_types``), and give the rewritten
    tables planner statistics again (``ALTER COLUMN … TYPE`` drops them). Problems are logged,
    not raised: the migration is committed."""
    old_types.finish_old_type(connection, plan.old_name, plan.schema)
    with connection.schema_editor(atomic=False) as editor:
        for table in plan.tables:
            if table.columns:
                _analyze(editor, table)


def _analyze(editor, table: TablePlan) -> None:
    """``ANALYZE`` the converted columns of ``table`` under the lock budget."""
    statement = sql.SQL("ANALYZE {} ({})").format(
        table.table.identifier, sql.SQL(", ").join(enum_sql.identifier(c.name)
                                                   for c in table.columns)
    )
    try:
        locks.run_locked(editor, statement, f"analysing {table.table} after a type swap",
                         tables=[table.table])
    except (DatabaseError, EnumMigrationError) as exc:
        logger.warning(
            "Table %s was not analysed after the type swap (%s); autovacuum will do it, or run "
            "ANALYZE %s.", table.table, str(exc).strip().splitlines()[0], table.table,
        )


def _deepest_first(indexes: list[Index]) -> list[Index]:
    """Attached indexes, those of the lowest partitions first: a partitioned index becomes valid
    once all its partitions' indexes are attached, and only a valid one may be attached."""
    parents = {(index.schema, index.name): index.parent for index in indexes}

    def depth(index: Index) -> int:
        level, parent = 0, index.parent
        while parent is not None:
            level, parent = level + 1, parents.get(parent)
        return level

    return sorted((index for index in indexes if index.parent), key=depth, reverse=True)


def _each(statements):
    """The statements that are not None (a table may have nothing to do in a phase)."""
    return [statement for statement in statements if statement is not None]


def _guarded(schema_editor, plan: SwapPlan):
    """``execute``, turning "invalid input value for enum" into a refusal that says why."""

    def run(statement) -> None:
        try:
            enum_sql.execute(schema_editor, statement)
        except DatabaseError as exc:
            if sqlstate(exc) != "22P02":
                raise
            raise RefusedChange(
                f"The type swap removing {plan.value!r} from enum type {plan.type_name} was "
                f"refused by PostgreSQL ({str(exc).strip()}): something still holds the value "
                "- rows written since the check, or a default, index or constraint naming it. "
                "Nothing was changed. Move those rows or change that definition in an earlier "
                "migration, then run migrate again."
            ) from exc

    return run
