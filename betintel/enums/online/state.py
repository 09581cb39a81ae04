"""Online changes under way: their recorded state, and dropping what an unfinished one left.

A swap records ``{"betintel": {"online_swap": {"type", "value", "replacement", "step",
"keys"}}}`` in its new type's comment (``keys``: the last key backfilled per table oid, or
``"done"``), and between the switch and the old type's drop in the old type's comment (beside
the marker of ``old_types``). A conversion records ``{"betintel": {"online_conversion":
{"type", "table", "column", "target", "step", "keys"}}}`` in the comment of its trigger's
function. ``enum_status`` warns about each one found, and a later ``migrate`` resumes it.
"""

from __future__ import annotations

from psycopg import sql

from .. import introspection, locks
from .. import sql as enum_sql
from ..introspection import Table
from ..introspection import online as catalog
from ..old_types import ONLINE_PREFIX
from .names import (
    CONVERSION_KEY,
    CONVERSION_PREFIX,
    NEW_TYPE_PREFIX,
    STATE_KEY,
    function_name,
    new_type_name,
    trigger_name,
)


def _record(comment: str | None, key: str) -> dict | None:
    record = introspection.parse_comment(comment).get(introspection.COMMENT_KEY) or {}
    state = record.get(key) if isinstance(record, dict) else None
    return state if isinstance(state, dict) else None


def under_way(connection) -> dict[str, dict]:
    """Online swaps left unfinished, by type name: their recorded state."""
    found = {}
    for comment in catalog.temporary_type_comments(connection, [NEW_TYPE_PREFIX, ONLINE_PREFIX]):
        state = _record(comment, STATE_KEY)
        if state is not None and state.get("type"):
            found[state["type"]] = state
    return found


def recorded_state(connection, online) -> dict | None:
    """The state of the online swap ``online`` left under way before its switch, if any."""
    state = under_way(connection).get(online.type_name)
    if state is None or introspection.enum_type(connection, online.new_type) is None:
        return None
    return state


def conversion_state(connection, online) -> dict | None:
    """The recorded state of an online conversion of this column left under way, if any."""
    row = catalog.function_comment(connection, online.schema, online.function)
    if row is None:
        return None
    return _record(row[0], CONVERSION_KEY) or {"step": "shadow"}


def conversions_under_way(connection) -> dict[str, dict]:
    """Online conversions left unfinished, by ``schema.table.column``: their recorded state."""
    found = {}
    for comment in catalog.function_comments(connection, CONVERSION_PREFIX):
        state = _record(comment, CONVERSION_KEY)
        if state is not None and state.get("table"):
            found[f"{state['table']}.{state.get('column')}"] = state
    return found


def abandon(schema_editor, type_name: str) -> bool:
    """Drop what an unfinished online swap of ``type_name`` left; True if there was one."""
    connection = schema_editor.connection
    existing = introspection.enum_type(connection, type_name)
    if existing is None or schema_editor.collect_sql:
        return False
    new = new_type_name(existing.oid)
    if introspection.enum_type(connection, new) is None:
        return False
    schema = catalog.current_schema(connection)
    purpose = f"dropping what an unfinished online swap of enum type {type_name} left"
    for table in catalog.tables_using(connection, new):
        for statement in _table_leftovers(connection, table, existing.oid, new, schema):
            locks.run_locked(schema_editor, statement, purpose, tables=[table])
    # Copies of indexes and constraints on other columns name the new type: ours, by name.
    for schema_name, relation, constraint in catalog.copies_naming(connection, new):
        target = enum_sql.table_name(schema_name, relation)
        enum_sql.execute(schema_editor, enum_sql.drop_index(target) if constraint is None
                         else enum_sql.alter_table(target, [enum_sql.drop_constraint(constraint)]))
    # Without CASCADE: anything else using the new type makes this fail, naming it.
    enum_sql.execute(schema_editor, enum_sql.drop_type(new))
    return True


def _table_leftovers(connection, table: Table, type_oid: int, new: str,
                     schema: str) -> list:
    """The statements dropping the trigger, shadow columns and function of one table."""
    statements = [sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
        enum_sql.identifier(trigger_name(type_oid)), table.identifier)]
    shadows = catalog.columns_of_type(connection, table.oid, new)
    if shadows:
        statements.append(enum_sql.alter_table(table.identifier, [
            sql.SQL("DROP COLUMN {}").format(enum_sql.identifier(name)) for name in shadows]))
    statements.append(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(
        enum_sql.table_name(schema, function_name(type_oid, table.oid))))
    return statements
