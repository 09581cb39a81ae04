"""Catalog queries about enum types, their values and what depends on them.

A type is named without its schema in the code, so its schema is resolved from the columns that
use a type of that name (the models' tables first), falling back to ``current_schema()`` while
no column uses it: a same-named type in a schema earlier in ``search_path`` is never taken for
it (SPEC §7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Key of our record inside a type's ``COMMENT``; the rest of the comment is left alone.
COMMENT_KEY = "betintel"

#: The namespace objects named without a schema live in: every query that means "the current
#: schema" says it with this, and nothing else.
CURRENT_NAMESPACE = "current_schema()::regnamespace"


@dataclass(frozen=True)
class EnumType:
    """An enum type as the database has it."""

    name: str
    oid: int
    values: tuple[str, ...]
    comment: str | None
    schema: str = "public"

    @property
    def qualified(self) -> tuple[str, str]:
        """``(schema, name)``, for statements that must not depend on ``search_path``."""
        return (self.schema, self.name)


_TYPES_SQL = """
SELECT t.typname, t.oid::int,
       array_agg(e.enumlabel ORDER BY e.enumsortorder),
       obj_description(t.oid, 'pg_type'), n.nspname
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typtype = 'e' AND t.typnamespace = {namespace}
  {where}
GROUP BY t.oid, t.typname, n.nspname
ORDER BY t.typname
"""

# The schema of the type called %(name)s that table columns use: the models' tables first,
# then the schema earliest in search_path; current_schema() when no column uses one.
_SCHEMA_SQL = f"""
coalesce((
    SELECT u.typnamespace
    FROM pg_type u
    JOIN pg_depend d ON d.refclassid = 'pg_type'::regclass AND d.refobjid IN (u.oid, u.typarray)
                    AND d.classid = 'pg_class'::regclass AND d.objsubid > 0
    JOIN pg_class c ON c.oid = d.objid AND c.relkind IN ('r', 'p')
    WHERE u.typtype = 'e' AND u.typname = %(name)s
    ORDER BY c.oid IN (SELECT to_regclass(x) FROM unnest(%(tables)s::text[]) x) DESC,
             array_position(current_schemas(true),
                            (SELECT n.nspname FROM pg_namespace n WHERE n.oid = u.typnamespace))
             NULLS LAST
    LIMIT 1
), {CURRENT_NAMESPACE})
"""


def enum_types(connection) -> dict[str, EnumType]:
    """Every enum type in the current schema, by name."""
    with connection.cursor() as cursor:
        cursor.execute(_TYPES_SQL.format(namespace=CURRENT_NAMESPACE, where=""))
        rows = cursor.fetchall()
    return {row[0]: EnumType(row[0], row[1], tuple(row[2]), row[3], row[4]) for row in rows}


def enum_type(connection, name: str, schema: str | None = None) -> EnumType | None:
    """The enum type ``name`` the columns use (see the module doc), or the one in ``schema``;
    None when there is none."""
    if schema is None:
        namespace, params = _SCHEMA_SQL, {"name": name, "tables": model_tables(name)}
    else:
        namespace, params = "%(schema)s::regnamespace", {"name": name, "schema": schema}
    with connection.cursor() as cursor:
        cursor.execute(
            _TYPES_SQL.format(namespace=namespace, where="AND t.typname = %(name)s"), params
        )
        row = cursor.fetchone()
    return EnumType(row[0], row[1], tuple(row[2]), row[3], row[4]) if row else None


def type_schema(connection, name: str) -> str:
    """The schema of the type ``name`` the columns use, or ``current_schema()`` (module doc)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (" + _SCHEMA_SQL + ")::text",
            {"name": name, "tables": model_tables(name)},
        )
        return cursor.fetchone()[0]


def model_tables(name: str) -> list[str]:
    """The tables of installed models with a field of enum type ``name``."""
    from django.apps import apps

    from ..fields import model_enum_fields

    if not apps.ready:
        return []
    return sorted({
        model._meta.db_table
        for model, _field, enum_field in model_enum_fields(apps.get_models())
        if enum_field.enum_type_name == name
    })


def type_exists(connection, name: str) -> bool:
    """Whether any type (enum or not) called ``name`` exists in the current schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM pg_type WHERE typname = %s AND typnamespace = {CURRENT_NAMESPACE}",
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
