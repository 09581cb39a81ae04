"""Composing SQL with identifiers and literals quoted by the driver (psycopg.sql)."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql


def render(statement: sql.Composable, connection) -> str:
    """Render ``statement`` to a string the way the driver quotes it for ``connection``."""
    connection.ensure_connection()
    return statement.as_string(connection.connection)


def execute(schema_editor, statement: sql.Composable) -> None:
    """Run ``statement`` through the schema editor, so ``sqlmigrate`` and logging see it."""
    schema_editor.execute(render(statement, schema_editor.connection), params=None)


def identifier(name: str) -> sql.Identifier:
    return sql.Identifier(name)


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
