"""The switch step: the online change becomes the real one, in one short transaction.

One transaction takes every table's ``ACCESS EXCLUSIVE`` lock under the lock budget, checks the
plan against the catalog again, and changes only the catalog: trigger and function dropped, old
indexes, constraints and columns dropped, shadow columns, indexes (their columns too) and
constraints renamed to the old names (a unique constraint comes back ``USING INDEX``), defaults
set (mapped), ``SET NOT NULL`` (proven by the validated helper CHECK, so without a scan), helper
CHECKs dropped, comments carried; then the old type is renamed ``betintel_old_<oid>`` and marked
(``old_types``; its comment keeps the state too) and the new one takes its name (owner and
comment carried). A swap's switch runs in the guard's session, so that its commit releases the
type. Once it commits, ``drop_old_type`` carries into the new type any value a waiting ``ADD
VALUE`` gave the old one, and drops the old type.

PostgreSQL names an index's own columns (``pg_attribute`` rows of the index) after the table's
columns when it is built and does not rename them with the table's, so the switch renames a
rebuilt index's columns back to the old column names too (``ALTER TABLE <index> RENAME
COLUMN``).
"""

from __future__ import annotations

from django.db import transaction
from psycopg import sql

from .. import locks
from .. import sql as enum_sql
from ..errors import LockNotAcquired, RefusedChange
from ..introspection import Table
from ..introspection import online as catalog
from ..old_types import carry_and_drop
from .plan import IndexCopy, OnlinePlan, OnlineTable, plan_held, shape


def drop_old_type(schema_editor, online: OnlinePlan) -> None:
    """Once the switch committed: the old type's added values carried over, then the old type
    dropped (``old_types.carry_and_drop``), in one transaction. An error is raised: the swap
    stays under way, and the next ``migrate`` finishes it."""
    if schema_editor.collect_sql:
        enum_sql.execute(schema_editor, enum_sql.drop_type(online.old_type))
        return
    with transaction.atomic(using=schema_editor.connection.alias):
        carry_and_drop(schema_editor, online.old_type, online.schema)


class Switch:
    """The switch step of ``OnlineSwap`` (``steps.py``)."""

    def switch(self) -> None:
        """Every table's catalog changes and the type's rename, in the guard's transaction."""
        self._record("switch")
        editor = self.guard.editor if self.guard is not None else self.editor
        statements = [statement for table in self.plan.tables
                      for statement in self._switch_table(table)]
        statements += self._switch_type()
        tables = [table.table for table in self.plan.tables]
        if editor.collect_sql:
            self._run(sql.SQL("-- switch: in the session holding the type, one transaction"))
            locks.lock_tables(editor, tables, self.purpose)
            for statement in statements:
                self._run(statement)
        else:
            self._switch_locked(editor, tables, statements, "The online swap stays under way "
                                "at its switch step; the tables are usable, and the next "
                                "migrate finishes it.")
            self.guard.commit()
        drop_old_type(self.editor, self.plan)

    def _switch_locked(self, editor, tables: list[Table], statements: list,
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
        if shape(fresh) != shape(self.plan):
            raise RefusedChange(
                f"The tables using enum type {self.plan.type_name} changed during its online "
                "swap (a column, index, constraint or default was added or dropped), so the "
                "switch did not happen. The online swap stays under way and the tables are "
                "usable; run migrate again to include the change and finish it."
            )

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
        statements += self._drop_old(table)
        statements += [
            sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
                target, enum_sql.identifier(column.shadow), enum_sql.identifier(column.name))
            for column in table.columns
        ]
        for index in table.indexes:
            statements += self._rename_index(table, index)
        for check in table.checks:
            statements.append(sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                target, enum_sql.identifier(check.copy), enum_sql.identifier(check.name)))
            if check.comment is not None:
                statements.append(enum_sql.comment_on(
                    "CONSTRAINT", enum_sql.constraint_on(check.name, target), check.comment))
        statements += self._set_columns(table)
        if table.columns:
            statements += [
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    target, enum_sql.identifier(column.name), sql.Literal(column.comment))
                for column in table.columns if column.comment is not None
            ]
            statements.append(sql.SQL("DROP FUNCTION {}()").format(self._function_name(table)))
        return statements

    def _drop_old(self, table: OnlineTable) -> list:
        """The old columns and the constraints on them, in one ``ALTER TABLE``."""
        drops = [enum_sql.drop_constraint(index.constraint)
                 for index in table.indexes if index.constraint is not None]
        drops += [enum_sql.drop_constraint(check.name) for check in table.checks]
        # A nullable column's proof names the old column; a NOT NULL one's stays for SET NOT NULL.
        drops += [enum_sql.drop_constraint(column.proof)
                  for column in table.columns if not column.not_null]
        drops += [sql.SQL("DROP COLUMN {}").format(enum_sql.identifier(column.name))
                  for column in table.columns]
        return [enum_sql.alter_table(table.table.identifier, drops)] if drops else []

    def _rename_index(self, table: OnlineTable, index: IndexCopy) -> list:
        """An index copy (its columns too) given the old index's name, or its unique
        constraint back ``USING INDEX``, with their comments."""
        target = table.table.identifier
        copy = enum_sql.table_name(index.schema, index.copy)
        statements = self._index_column_renames(table, index, copy)
        if index.constraint is None:
            statements.append(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                copy, enum_sql.identifier(index.name)))
            if index.comment is not None:
                statements.append(enum_sql.comment_on(
                    "INDEX", enum_sql.table_name(index.schema, index.name), index.comment))
            return statements
        statements.append(enum_sql.alter_table(target, [sql.SQL(
            "ADD CONSTRAINT {} UNIQUE USING INDEX {}").format(
                enum_sql.identifier(index.constraint), enum_sql.identifier(index.copy))]))
        if index.constraint_comment is not None:
            statements.append(enum_sql.comment_on(
                "CONSTRAINT", enum_sql.constraint_on(index.constraint, target),
                index.constraint_comment))
        return statements

    def _index_column_renames(self, table: OnlineTable, index: IndexCopy, copy) -> list:
        """A copy's key columns are named after the shadow columns: give them the old names,
        so nothing named ``betintel_`` stays in the catalog (psql shows index columns)."""
        if self.editor.collect_sql:
            return []
        shadows = {column.shadow: column.name for column in table.columns}
        return [
            sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
                copy, enum_sql.identifier(name), enum_sql.identifier(shadows[name]))
            for name in catalog.index_columns(self.connection, index.schema, index.copy)
            if name in shadows
        ]

    def _set_columns(self, table: OnlineTable) -> list:
        """Defaults (mapped) and ``SET NOT NULL``, then the NOT NULL proofs dropped."""
        target = table.table.identifier
        statements = []
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
        return statements

    def _default(self, table: OnlineTable, default) -> sql.Composable:
        from ..swap import mapped_default  # here: the swap package imports online

        new = mapped_default(self.connection, default, self.plan.new_type, self.plan.value,
                             self.plan.replacement)
        if isinstance(new, sql.SQL):  # an expression kept as the server deparsed it
            return self._rewrite(table, default.expression)
        return new

    def _switch_type(self) -> list:
        online = self.plan
        statements = [
            enum_sql.rename_type(online.type_name, online.old_type),
            enum_sql.rename_type(online.new_type, online.type_name),
        ]
        if online.owner is not None:
            statements.append(enum_sql.alter_type_owner(online.type_name, online.owner))
        statements.append(enum_sql.comment_on_type(online.type_name, online.comment))
        # Kept, marked, until sessions that waited for it have finished: see ``drop_old_type``.
        statements.append(enum_sql.comment_on_type(online.old_type, online.old_type_comment()))
        return statements
