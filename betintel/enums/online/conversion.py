"""Converting a column online (SPEC §4b): its plan, the choice, and dropping what an
unfinished one left.

A character column becoming an enum column (or the way back) is a change of one column's type:
the same steps as a swap, on one table, with no new type (``conversion_steps.py``). The shadow
column has the target type and is filled through the conversion's ``USING`` expression, guarded
so that a value the target cannot hold gives NULL instead of an error (a write during the
conversion never fails because of it). Such a row is not lost: its old column still holds the
value, and the helper CHECK proving every row has its shadow value refuses to validate, so the
conversion stops before its switch, naming the values, and resumes once they are changed. The
state lives in the comment of the trigger's function, which exists from the shadow step to the
switch; nothing holds the enum type, as nothing a concurrent ``ADD VALUE`` does can be lost
(the label check reads the type's labels when it runs).

Only the converted column's own indexes and CHECKs are copied (other columns of the type stay).
Django's ``_like`` index goes (to the enum); indexes and CHECKs of the model's ``Meta`` over the
column are made from the target model, as the in-place conversion makes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg import sql

from .. import conf, introspection, locks
from .. import sql as enum_sql
from ..introspection import Table
from ..introspection import online as catalog
from .choose import decide
from .names import (
    BLOCKING,
    CONVERSION_KEY,
    conversion_function_name,
    conversion_trigger_name,
    logger,
)
from .plan import OnlinePlan, OnlineTable, ShadowColumn, complete_table
from .state import conversion_state


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
        return conversion_function_name(self.table.table.oid, self.attnum)

    def state(self, step: str, keys: dict | None = None) -> str:
        """The state recorded in the comment of the trigger's function."""
        conversion = self.conversion
        record = {"type": self.type_name, "table": str(self.table.table),
                  "column": conversion.column, "target": conversion.target_type,
                  "step": step, "keys": keys or {}}
        return json.dumps({introspection.COMMENT_KEY: {CONVERSION_KEY: record}}, sort_keys=True)


def plan_conversion(connection, conversion) -> ConversionPlan:
    """The online plan of ``conversion`` (a ``conversion.ColumnConversion`` with its table)."""
    target = conversion.table
    attnum, size, rows = catalog.column_position(connection, target.oid, conversion.column)
    target_table = Table(target.oid, target.schema, target.name, rows, size)
    table = OnlineTable(target_table, columns=[
        ShadowColumn(conversion.column, attnum, conversion.array, False, None)])
    existing = introspection.enum_type(connection, conversion.type_name)
    online = ConversionPlan(
        type_name=conversion.type_name, type_oid=existing.oid if existing else 0,
        schema=target.schema, value="", replacement=None,
        values=list(existing.values) if existing else [], comment=None, owner=None,
        tables=[table], conversion=conversion, attnum=attnum,
        max_length=_max_length(conversion),
    )
    complete_table(connection, online, table, [], sync_trigger=conversion_trigger_name(attnum))
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
    """The ``_like`` index left out; ``Meta`` indexes, CHECKs and the default from the target
    model (see the module doc)."""
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

    return decide(
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
