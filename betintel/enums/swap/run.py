"""Running a blocking swap's plan, and what follows its commit (SPEC §4).

``execute`` issues the plan's statements in the order the package doc gives (indexes dropped,
old type renamed, new type created under its name, one ``ALTER TABLE`` per table, indexes
created again), each turning "invalid input value for enum" into a refusal that says why, then
proves the old type droppable in a savepoint and keeps it, marked, until after commit.
``after_swap`` then drops it (``old_types.py``) and ANALYZEs the rewritten columns.
"""

from __future__ import annotations

from django.db import DatabaseError, transaction
from psycopg import sql

from .. import locks, old_types
from .. import sql as enum_sql
from ..errors import EnumMigrationError, RefusedChange, sqlstate
from ..introspection import Index
from .log import logger
from .plan import SwapPlan, TablePlan


def execute(schema_editor, plan: SwapPlan) -> None:
    """Run the swap's statements (the package doc gives their order and why)."""
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
    _restore_indexes(run, plan.indexes)
    if not schema_editor.collect_sql:
        _prove_droppable(schema_editor, plan)


def _restore_indexes(run, indexes: list[Index]) -> None:
    """Create the dropped indexes again from their kept text, with their comments, and attach
    the partitions' indexes to their parents."""
    for index in indexes:
        run(enum_sql.catalog_definition(index.definition))
        if index.comment is not None:
            target = enum_sql.table_name(index.schema, index.name)
            run(enum_sql.comment_on("INDEX", target, index.comment))
    for index in _deepest_first(indexes):
        run(enum_sql.attach_index(enum_sql.table_name(*index.parent),
                                  enum_sql.table_name(index.schema, index.name)))


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
