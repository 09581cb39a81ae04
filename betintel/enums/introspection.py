"""Catalog queries about enum types, their values and what depends on them."""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Key of our record inside a type's ``COMMENT``; the rest of the comment is left alone.
COMMENT_KEY = "betintel"


@dataclass(frozen=True)
class EnumType:
    """An enum type as the database has it."""

    name: str
    oid: int
    values: tuple[str, ...]
    comment: str | None


_TYPES_SQL = """
SELECT t.typname, t.oid::int,
       array_agg(e.enumlabel ORDER BY e.enumsortorder),
       obj_description(t.oid, 'pg_type')
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typtype = 'e' AND t.typnamespace = current_schema()::regnamespace
  {where}
GROUP BY t.oid, t.typname
ORDER BY t.typname
"""


def enum_types(connection) -> dict[str, EnumType]:
    """Every enum type in the current schema, by name."""
    with connection.cursor() as cursor:
        cursor.execute(_TYPES_SQL.format(where=""))
        rows = cursor.fetchall()
    return {row[0]: EnumType(row[0], row[1], tuple(row[2]), row[3]) for row in rows}


def enum_type(connection, name: str) -> EnumType | None:
    """The enum type ``name`` in the current schema, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_TYPES_SQL.format(where="AND t.typname = %s"), [name])
        row = cursor.fetchone()
    return EnumType(row[0], row[1], tuple(row[2]), row[3]) if row else None


def type_exists(connection, name: str) -> bool:
    """Whether any type (enum or not) called ``name`` exists in the current schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_type WHERE typname = %s "
            "AND typnamespace = current_schema()::regnamespace",
            [name],
        )
        return cursor.fetchone() is not None


def recorded_deprecations(comment: str | None) -> dict[str, str | None]:
    """Deprecations recorded in a type's comment: ``{value: replacement or None}``."""
    record = parse_comment(comment).get(COMMENT_KEY) or {}
    deprecated = record.get("deprecated") or {}
    return {str(key): value for key, value in deprecated.items()}


def parse_comment(comment: str | None) -> dict:
    """The JSON object a type's comment holds, or ``{}`` for no comment or free text."""
    if not comment:
        return {}
    try:
        parsed = json.loads(comment)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
