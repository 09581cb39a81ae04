"""Composing SQL with identifiers and literals quoted by the driver (psycopg.sql)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from psycopg import sql


def render(statement: sql.Composable, connection) -> str:
    """Render ``statement`` to a string the way the driver quotes it for ``connection``."""
    connection.ensure_connection()
    return statement.as_string(connection.connection)


def execute(schema_editor, statement: sql.Composable) -> None:
    """Run ``statement`` through the schema editor, so ``sqlmigrate`` and logging see it."""
    schema_editor.execute(render(statement, schema_editor.connection), params=None)


def identifier(name: str | tuple[str, ...]) -> sql.Identifier:
    """``name``, or a schema-qualified name given as ``(schema, name)``."""
    return sql.Identifier(*name) if isinstance(name, tuple) else sql.Identifier(name)


def literal(value: object) -> sql.Literal:
    return sql.Literal(value)


def literal_list(values: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Literal(value) for value in values)


def create_type(name: str, values: Iterable[str]) -> sql.Composed:
    return sql.SQL("CREATE TYPE {} AS ENUM ({})").format(identifier(name), literal_list(values))


def drop_type(name: str) -> sql.Composed:
    return sql.SQL("DROP TYPE {}").format(identifier(name))


def add_value(
    name: str, value: str, before: str | None = None, after: str | None = None
) -> sql.Composed:
    statement = sql.SQL("ALTER TYPE {} ADD VALUE IF NOT EXISTS {}").format(
        identifier(name), literal(value)
    )
    if before is not None:
        statement += sql.SQL(" BEFORE {}").format(literal(before))
    elif after is not None:
        statement += sql.SQL(" AFTER {}").format(literal(after))
    return statement


def rename_value(name: str, old: str, new: str) -> sql.Composed:
    return sql.SQL("ALTER TYPE {} RENAME VALUE {} TO {}").format(
        identifier(name), literal(old), literal(new)
    )


def rename_type(name: str, new_name: str) -> sql.Composed:
    return sql.SQL("ALTER TYPE {} RENAME TO {}").format(identifier(name), identifier(new_name))


def alter_type_owner(name: str, owner: str) -> sql.Composed:
    return sql.SQL("ALTER TYPE {} OWNER TO {}").format(identifier(name), identifier(owner))


def comment_on_type(name: str, comment: str | None) -> sql.Composed:
    return sql.SQL("COMMENT ON TYPE {} IS {}").format(identifier(name), literal(comment))


def comment_on(kind: str, target: sql.Composable, comment: str | None) -> sql.Composed:
    """``COMMENT ON <kind> target IS comment``; ``kind`` is one of our fixed keywords."""
    if kind not in {"INDEX", "CONSTRAINT"}:
        raise ValueError(f"Unexpected object kind {kind!r} for COMMENT ON.")
    return sql.SQL("COMMENT ON {} {} IS {}").format(sql.SQL(kind), target, literal(comment))


def constraint_on(name: str, table: sql.Identifier) -> sql.Composed:
    return sql.SQL("{} ON {}").format(identifier(name), table)


def table_name(schema: str, name: str) -> sql.Identifier:
    """A schema-qualified relation name."""
    return sql.Identifier(schema, name)


def set_lock_timeout(value: str) -> sql.Composed:
    return sql.SQL("SET LOCAL lock_timeout = {}").format(literal(value))


def lock_tables(tables: Iterable[sql.Identifier]) -> sql.Composed:
    return sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(", ").join(tables))


def catalog_definition(text: str) -> sql.SQL:
    """SQL that the server itself deparsed (``pg_get_indexdef`` …): quoted by the server."""
    return sql.SQL(text)


def drop_index(index: sql.Identifier) -> sql.Composed:
    return sql.SQL("DROP INDEX {}").format(index)


def attach_index(parent: sql.Identifier, child: sql.Identifier) -> sql.Composed:
    return sql.SQL("ALTER INDEX {} ATTACH PARTITION {}").format(parent, child)


def alter_table(table: sql.Identifier, actions: Iterable[sql.Composable]) -> sql.Composed:
    """One ``ALTER TABLE`` with several actions: PostgreSQL rewrites the table at most once."""
    return sql.SQL("ALTER TABLE {} {}").format(table, sql.SQL(", ").join(actions))


def drop_default(column: str) -> sql.Composed:
    return sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(identifier(column))


def set_default(column: str, expression: sql.Composable) -> sql.Composed:
    return sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(identifier(column), expression)


def drop_constraint(name: str) -> sql.Composed:
    return sql.SQL("DROP CONSTRAINT {}").format(identifier(name))


def add_constraint(name: str, definition: str) -> sql.Composed:
    return sql.SQL("ADD CONSTRAINT {} {}").format(identifier(name), catalog_definition(definition))


def enum_type_of(type_name: str, array: bool) -> sql.Composable:
    """The type ``type_name``, or its array type."""
    return sql.SQL("{}[]").format(identifier(type_name)) if array else identifier(type_name)


def typed_literal(text: str | None, type_name: str, array: bool) -> sql.Composed:
    """``'text'::type`` (or ``::type[]``): a constant of the enum type from its text form."""
    return sql.SQL("{}::{}").format(literal(text), enum_type_of(type_name, array))


def alter_column_type(
    column: str, type_name: str, array: bool, value: str, replacement: str | None
) -> sql.Composed:
    """``ALTER COLUMN … TYPE`` to ``type_name`` through text, mapping ``value`` to ``replacement``.

    Without a replacement the cast alone carries the rows over: a row still holding ``value``
    makes the statement fail, so nothing can be lost.
    """
    source = identifier(column)
    if array:
        as_text = sql.SQL("{}::text[]").format(source)
        if replacement is not None:
            as_text = sql.SQL("array_replace({}, {}, {})").format(
                as_text, literal(value), literal(replacement)
            )
    else:
        as_text = sql.SQL("{}::text").format(source)
        if replacement is not None:
            as_text = sql.SQL("CASE WHEN {} = {} THEN {} ELSE {} END").format(
                as_text, literal(value), literal(replacement), as_text
            )
    target = enum_type_of(type_name, array)
    return sql.SQL("ALTER COLUMN {} TYPE {} USING ({})::{}").format(
        source, target, as_text, target
    )


def count_holding(
    table: sql.Identifier, columns: Iterable[tuple[str, bool]], value: str
) -> sql.Composed:
    """One scan of ``table`` counting, per column, the rows that hold ``value``."""
    counts = []
    for column, array in columns:
        if array:
            condition = sql.SQL("{} = ANY({}::text[])").format(literal(value), identifier(column))
        else:
            condition = sql.SQL("{}::text = {}").format(identifier(column), literal(value))
        counts.append(sql.SQL("count(*) FILTER (WHERE {})").format(condition))
    return sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(counts), table)


# Definitions the server deparsed, rewritten token by token ---------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<string>[EeBbXxNnUu]?'(?:[^']|'')*')
      | (?P<quoted>"(?:[^"]|"")*")
      | (?P<word>[^\W\d][\w$]*)
      | (?P<number>\d[\w.]*)
      | (?P<cast>::)
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


def tokens(text: str) -> list[tuple[str, str]]:
    """``(kind, text)`` for each token of deparsed SQL: string constants and quoted names whole."""
    return [(match.lastgroup, match.group()) for match in _TOKEN.finditer(text)]


def _name_of(kind: str, text: str) -> str | None:
    if kind == "quoted":
        return text[1:-1].replace('""', '"')
    return text if kind == "word" else None


def rewrite_references(
    text: str,
    columns: dict[str, str],
    type_schema: str,
    type_name: str,
    new_type: str,
    quote,
) -> str:
    """``text`` with references to ``columns`` (old name: new name) and to the type renamed.

    ``text`` is an expression, constraint or index tail as the server deparses it. A name is a
    column reference unless it follows ``::`` or ``.``, or is followed by ``(`` or ``.``; a type
    reference is the name after ``::`` (``schema.`` optional). String constants and quoted names
    are tokens of their own, so a label or another name that merely contains a column's name is
    never touched. ``quote`` turns a name into a quoted identifier.
    """
    parts = tokens(text)
    solid = [i for i, (kind, _) in enumerate(parts) if kind != "space"]
    out = [token for _, token in parts]
    new_type_sql = quote(type_schema) + "." + quote(new_type)
    for position, i in enumerate(solid):
        kind, token = parts[i]
        name = _name_of(kind, token)
        if name is None:
            continue
        before = parts[solid[position - 1]][1] if position > 0 else ""
        after = parts[solid[position + 1]][1] if position + 1 < len(solid) else ""
        if before == "::":
            if after == "." and position + 2 < len(solid):
                j = solid[position + 2]
                if name == type_schema and _name_of(*parts[j]) == type_name:
                    out[i], out[solid[position + 1]], out[j] = new_type_sql, "", ""
            elif name == type_name:
                out[i] = new_type_sql
        elif name in columns and before != "." and after not in ("(", "."):
            out[i] = quote(columns[name])
    return "".join(out)


def index_tail(definition: str) -> tuple[bool, str]:
    """``(unique, tail)`` of a ``pg_get_indexdef`` text: the tail starts at ``USING``."""
    parts = tokens(definition)
    words = [token for kind, token in parts if kind == "word"]
    unique = len(words) > 1 and words[1] == "UNIQUE"
    for i, (kind, token) in enumerate(parts):
        if kind == "word" and token == "USING":
            return unique, "".join(token for _, token in parts[i:])
    raise ValueError(f"Unexpected index definition: {definition}")


def add_column(name: str, type_sql: sql.Composable) -> sql.Composed:
    return sql.SQL("ADD COLUMN {} {}").format(identifier(name), type_sql)


def mapped_value(
    source: sql.Composable,
    array: bool,
    value: str,
    replacement: str | None,
    labels: Iterable[str],
    old_type: sql.Composable,
    new_type: sql.Composable,
) -> sql.Composed:
    """``source`` (of ``old_type``) as ``new_type``: ``value`` becomes ``replacement``, and a
    label the new type lacks gives NULL instead of an error (a trigger must not fail writes).

    A single value is mapped by comparing enum constants (no text conversion: this runs for
    every row written); an array goes through text, as no cast joins two enum types.
    """
    labels = list(labels)
    if array:
        known = sql.SQL("ARRAY[{}]::text[]").format(literal_list(labels))
        as_text = sql.SQL("{}::text[]").format(source)
        if replacement is not None:
            as_text = sql.SQL("array_replace({}, {}, {})").format(
                as_text, literal(value), literal(replacement)
            )
        return sql.SQL("CASE WHEN array_remove({}, NULL) <@ {} THEN {}::{} END").format(
            as_text, known, as_text, new_type
        )
    pairs = [(label, label) for label in labels]
    if replacement is not None:
        pairs.append((value, replacement))
    if not pairs:
        return sql.SQL("NULL::{}").format(new_type)
    return sql.SQL("CASE {} {} END").format(source, sql.SQL(" ").join(
        sql.SQL("WHEN {}::{} THEN {}::{}").format(literal(old), old_type, literal(new), new_type)
        for old, new in pairs
    ))
