"""Enum types in the catalog: their labels, comments, owners and the schema they live in.

A type is named without its schema in the code, so its schema is resolved from the columns that
use a type of that name (the models' tables first), falling back to ``current_schema()`` while
no column uses it: a same-named type in a schema earlier in ``search_path`` is never taken for
it (SPEC §7).
"""

from __future__ import annotations

import json

from .objects import EnumType

#: Key of our record inside a type's ``COMMENT``; the rest of the comment is left alone.
COMMENT_KEY = "betintel"

#: The namespace objects named without a schema live in: every query that means "the current
#: schema" says it with this, and nothing else.
CURRENT_NAMESPACE = "current_schema()::regnamespace"

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

# Every enum type of every schema, with its array type: what inspectdb may meet in a column.
_EVERY_TYPE_SQL = """
SELECT t.typname, t.oid::bigint, array_agg(e.enumlabel ORDER BY e.enumsortorder),
       obj_description(t.oid, 'pg_type'), n.nspname, t.typarray::bigint
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typtype = 'e'
GROUP BY t.oid, t.typarray, t.typname, n.nspname
"""

# A value that may not be a label of the column's type is never sent as a literal: PostgreSQL
# would refuse the whole query ("invalid input value for enum"). It is looked up in the
# catalog instead, checked when the query runs, so a label a newer release added still matches
# its rows. A label missing from the type gives an empty array, and "= ANY" of an empty array is
# false (never NULL), so exclude() keeps every row.
_GUARDED_LABELS_SQL = (
    "ANY(ARRAY(SELECT e.enumlabel::text::{type} FROM pg_enum e "
    "WHERE e.enumtypid = to_regtype(%s) AND e.enumlabel::text IN ({labels})))"
)


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


def every_enum_type(connection) -> list[EnumType]:
    """Every enum type of every schema, with the oid of its array type."""
    with connection.cursor() as cursor:
        cursor.execute(_EVERY_TYPE_SQL)
        rows = cursor.fetchall()
    return [EnumType(name, oid, tuple(labels), comment, schema, array_oid)
            for name, oid, labels, comment, schema, array_oid in rows]


def enum_array_types(connection) -> list[tuple[str, int]]:
    """``(type name, oid of its array type)`` of every enum type of every schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT typname, typarray FROM pg_type WHERE typtype = 'e'")
        return cursor.fetchall()


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


def other_owner(connection, type_oid: int) -> str | None:
    """The owner of the type, if it is not the role running the migration."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolname FROM pg_type t JOIN pg_roles r ON r.oid = t.typowner "
            "WHERE t.oid = %s AND r.rolname <> current_user",
            [type_oid],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def guarded_labels(type_sql: str, values: list[str]) -> tuple[str, list]:
    """``ANY(...)`` of those of ``values`` that are labels of the type ``type_sql`` (quoted),
    looked up in the catalog when the query runs; ``(sql, params)`` for a lookup."""
    # A label never holds a NUL byte, and the driver cannot send one: such a value is NULL here,
    # which matches no label.
    sendable = [value for value in values if "\x00" not in value]
    labels = ", ".join(["%s"] * len(sendable) + ["NULL"] * (len(values) - len(sendable)))
    return _GUARDED_LABELS_SQL.format(type=type_sql, labels=labels), [type_sql, *sendable]


def kept_old_types(connection, prefixes: list[str]) -> list[tuple[str, str, str | None]]:
    """``(schema, name, comment)`` of every enum type, in any schema, named with any of
    ``prefixes``: the old types swaps kept past their commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, t.typname, obj_description(t.oid, 'pg_type') FROM pg_type t "
            "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' "
            "AND EXISTS (SELECT FROM unnest(%s::text[]) p WHERE starts_with(t.typname, p)) "
            "ORDER BY n.nspname, t.typname",
            [prefixes],
        )
        return cursor.fetchall()


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
