"""The statements the online steps run, built from the plan: the new type and shadow columns,
the trigger keeping them in step, index and CHECK copies on the shadow columns.

The trigger ``betintel_sync_<type oid>`` (``BEFORE INSERT OR UPDATE``, ``FOR EACH ROW``) runs
the function ``betintel_sync_<type oid>_<table oid>()`` (in the type's schema), which sets every
shadow column from its source on every write: the removed value becomes the replacement; a
label the new type lacks (the removed value without a replacement) becomes NULL, so the trigger
never makes a write fail. Index and CHECK definitions come from the server
(``pg_get_indexdef``, ``pg_get_constraintdef``) with column and type references rewritten token
by token (``sql.rewrite_references``).
"""

from __future__ import annotations

from psycopg import sql

from .. import sql as enum_sql
from .names import BACKFILL_SETTING, function_name, trigger_name
from .plan import IndexCopy, OnlineTable, ShadowColumn


class Statements:
    """Statement builders of ``OnlineSwap`` (``steps.py``), from its ``plan``; an online
    conversion overrides those that differ."""

    def _run(self, statement) -> None:
        enum_sql.execute(self.editor, statement)

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
                                   function_name(self.plan.type_oid, table.table.oid))

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

    def _index(self, table: OnlineTable, index: IndexCopy) -> sql.Composable:
        unique, tail = enum_sql.index_tail(index.definition)
        return sql.SQL("CREATE {}INDEX CONCURRENTLY {} ON {} {}").format(
            sql.SQL("UNIQUE " if unique else ""), enum_sql.identifier(index.copy),
            table.table.identifier, self._rewrite(table, tail))

    def _rewrite(self, table: OnlineTable, text: str) -> sql.SQL:
        """A definition the server deparsed, on the shadow columns and the new type."""
        return self._rewritten(table, text, self.plan.type_name, self.plan.new_type)

    def _rewritten(self, table: OnlineTable, text: str, type_name: str, new_type: str):
        raw = self.connection.connection

        def quote(name: str) -> str:
            return sql.Identifier(name).as_string(raw)

        self.connection.ensure_connection()
        return sql.SQL(enum_sql.rewrite_references(
            text, table.renames, self.plan.schema, type_name, new_type, quote))

    def _proof(self, column: ShadowColumn) -> sql.Composable:
        shadow = enum_sql.identifier(column.shadow)
        if column.not_null:
            return sql.SQL("CHECK ({} IS NOT NULL)").format(shadow)
        return sql.SQL("CHECK ({} IS NULL OR {} IS NOT NULL)").format(
            enum_sql.identifier(column.name), shadow)
