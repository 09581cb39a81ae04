"""The steps of one online column conversion (``OnlineConversion``): the online swap's steps
on one column, with what differs (``conversion.py`` says what and why)."""

from __future__ import annotations

from psycopg import sql

from .. import introspection, locks
from .. import sql as enum_sql
from ..errors import RefusedChange
from .conversion import ConversionPlan, abandon_conversion, plan_conversion
from .names import STEPS, conversion_trigger_name, logger
from .plan import OnlineTable, ShadowColumn, shape
from .state import conversion_state
from .steps import OnlineSwap, cause_of


class OnlineConversion(OnlineSwap):
    """The online swap's steps applied to converting one column."""

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
        # No type changes its name here: only the column references move to the shadow column.
        return self._rewritten(table, text, "", "")

    def _default(self, table: OnlineTable, default) -> sql.Composable:
        return default  # the conversion's default, already a constant of the target type

    def _switch_type(self) -> list:
        return []

    def _refusal(self, table: OnlineTable, original: str | None) -> str:
        from .. import conversion as conversions

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
        if shape(fresh) != shape(self.plan):
            raise RefusedChange(
                f"Table {self.plan.table.table} changed during the online "
                f"{self.plan.conversion.purpose} (an index, constraint or default on the column "
                "was added or dropped), so the switch did not happen. The conversion stays "
                "under way and the table is usable; run migrate again to include the change "
                "and finish it."
            )

    def interrupted(self, exc: BaseException) -> str:
        return (
            f"The online {self.plan.conversion.purpose} stopped at its {self.step} step "
            f"({cause_of(exc)}). The table is usable with all its rows; run migrate again to "
            "resume and finish it."
        )

    def _log(self) -> None:
        rows = self.plan.table.table.estimated_rows
        logger.info("%s online: %s copied beside live traffic, then switched under a short "
                    "lock.", self.plan.conversion.purpose[0].upper()
                    + self.plan.conversion.purpose[1:],
                    f"about {rows:,} rows" if rows >= 0 else "rows not estimated yet")
