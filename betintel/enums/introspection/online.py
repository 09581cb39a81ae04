"""Catalog queries of the online type swap and the online column conversion (SPEC §4a, §4b).

Planning reads what a table holds that the online path must carry or cannot carry (its kind,
keys, indexes, CHECKs, triggers, statistics); running reads what a step already made (shadow
columns, index copies, helper CHECKs), so that a resumed step does only what is missing;
cleaning up reads what an unfinished swap left. The objects an online change makes are all
named ``betintel_…`` (``online/names.py``); queries that find the table's own objects leave
those out. The state of a change under way lives in comments: a temporary type's for a swap,
the trigger function's for a conversion.
"""

from __future__ import annotations

from . import CURRENT_NAMESPACE
from .objects import Table


def _rows(connection, query: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _row(connection, query: str, params) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


# Planning ----------------------------------------------------------------------------------


def type_array(connection, type_oid: int) -> tuple[str, int]:
    """``(current_schema(), array type oid)`` of the enum type ``type_oid``."""
    return _row(connection, "SELECT current_schema(), typarray FROM pg_type WHERE oid = %s",
                [type_oid])


def table_kind(connection, table_oid: int) -> tuple[str, bool]:
    """``(relkind, has inheritance parents or children)`` of a table."""
    return _row(connection, """
SELECT c.relkind,
       EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
FROM pg_class c WHERE c.oid = %s
""", [table_oid])


def column_details(connection, table_oid: int, attnum: int) -> tuple[bool, str | None, bool]:
    """``(NOT NULL, comment, has column privileges)`` of a column."""
    return _row(connection, """
SELECT a.attnotnull, col_description(a.attrelid, a.attnum), a.attacl IS NOT NULL
FROM pg_attribute a WHERE a.attrelid = %s AND a.attnum = %s
""", [table_oid, attnum])


def column_position(connection, table_oid: int, column: str) -> tuple[int, int, int]:
    """``(attnum, total size in bytes, estimated rows)`` of a column and its table."""
    return _row(connection, """
SELECT a.attnum, pg_total_relation_size(c.oid), c.reltuples::bigint
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid = %s AND a.attname = %s AND NOT a.attisdropped
""", [table_oid, column])


def unique_keys(connection, table_oid: int) -> list[tuple]:
    """Unique keys usable to walk a table in order, the primary key first: plain columns
    only, valid and immediate. Each ``(primary, attnums, names, types, all NOT NULL)``."""
    return _rows(connection, """
SELECT i.indisprimary, array_agg(a.attnum ORDER BY k.ord),
       array_agg(a.attname::text ORDER BY k.ord),
       array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord),
       bool_and(a.attnotnull)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts
GROUP BY i.indexrelid, i.indisprimary
ORDER BY i.indisprimary DESC, count(*), i.indexrelid
""", [table_oid])


def indexes_on(connection, table_oid: int, attnums: list[int], types: list[int]) -> list[tuple]:
    """The table's own indexes on columns ``attnums`` or naming types ``types``, each
    ``(oid, schema, name, definition, comment, constraint kind, constraint name, constraint
    comment, deferrable)``."""
    return _rows(connection, """
SELECT i.indexrelid::bigint, n.nspname, ic.relname, pg_get_indexdef(i.indexrelid),
       obj_description(i.indexrelid, 'pg_class'), con.contype, con.conname,
       obj_description(con.oid, 'pg_constraint'), coalesce(con.condeferrable, false)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = %(table)s AND left(ic.relname, 9) <> 'betintel_'
  AND (i.indkey::int2[] && %(attnums)s::int2[]
       OR EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                    AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
                          AND d.refobjsubid = ANY(%(attnums)s::int2[]))
                         OR (d.refclassid = 'pg_type'::regclass
                             AND d.refobjid = ANY(%(types)s::oid[])))))
ORDER BY ic.relname
""", {"table": table_oid, "attnums": attnums, "types": types})


def checks_on(connection, table_oid: int, attnums: list[int], types: list[int]) -> list[tuple]:
    """The table's own CHECK constraints on columns ``attnums`` or naming types ``types``,
    each ``(oid, name, definition, validated, comment)``."""
    return _rows(connection, """
SELECT con.oid::bigint, con.conname, pg_get_constraintdef(con.oid), con.convalidated,
       obj_description(con.oid, 'pg_constraint')
FROM pg_constraint con
WHERE con.conrelid = %(table)s AND con.contype = 'c' AND left(con.conname, 9) <> 'betintel_'
  AND (con.conkey && %(attnums)s::int2[]
       OR EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_constraint'::regclass AND d.objid = con.oid
                    AND d.refclassid = 'pg_type'::regclass
                    AND d.refobjid = ANY(%(types)s::oid[])))
ORDER BY con.conname
""", {"table": table_oid, "attnums": attnums, "types": types})


def conflicting_triggers(connection, table_oid: int, sync_trigger: str) -> list[tuple[str, bool]]:
    """User triggers and rules the online path cannot live with, each ``(name, on UPDATE)``.

    Any on UPDATE (the backfill updates every row, which must change nothing else and be
    refused by nothing), and BEFORE ROW ones on INSERT that run after ``sync_trigger`` (they
    could change a column after it was copied); rules are named ``rule <name>``. tgtype bits:
    ROW 1, BEFORE 2, INSERT 4, UPDATE 16.
    """
    return _rows(connection, """
SELECT tgname, (tgtype & 16) <> 0 FROM pg_trigger
WHERE tgrelid = %(table)s AND NOT tgisinternal AND left(tgname, 9) <> 'betintel_'
  AND ((tgtype & 16) <> 0 OR ((tgtype & 3) = 3 AND (tgtype & 4) <> 0 AND tgname > %(sync)s))
UNION ALL
SELECT 'rule ' || rulename, true FROM pg_rewrite
WHERE ev_class = %(table)s AND rulename <> '_RETURN' AND ev_type = '2'
ORDER BY 1
""", {"table": table_oid, "sync": sync_trigger})


def statistics_on(connection, table_oid: int, attnums: list[int]) -> list[str]:
    """Names of the extended statistics of a table using any of columns ``attnums``."""
    return [row[0] for row in _rows(
        connection,
        "SELECT stxname FROM pg_statistic_ext "
        "WHERE stxrelid = %s AND stxkeys::int2[] && %s::int2[]",
        [table_oid, attnums],
    )]


# What a step already made --------------------------------------------------------------------


def column_exists(connection, table_oid: int, name: str) -> bool:
    return _row(connection, "SELECT 1 FROM pg_attribute WHERE attrelid = %s AND attname = %s "
                "AND NOT attisdropped", [table_oid, name]) is not None


def index_valid(connection, schema: str, name: str) -> bool | None:
    """Whether index ``schema.name`` is valid; None when there is no such index."""
    row = _row(connection, "SELECT i.indisvalid FROM pg_index i "
               "JOIN pg_class c ON c.oid = i.indexrelid "
               "JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE n.nspname = %s AND c.relname = %s", [schema, name])
    return row[0] if row else None


def constraint_validated(connection, table_oid: int, name: str) -> bool | None:
    """Whether a table's constraint ``name`` is validated; None when there is none."""
    row = _row(connection, "SELECT convalidated FROM pg_constraint WHERE conrelid = %s "
               "AND conname = %s", [table_oid, name])
    return row[0] if row else None


def index_columns(connection, schema: str, name: str) -> list[str]:
    """The names of index ``schema.name``'s own columns, in order."""
    return [row[0] for row in _rows(
        connection,
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "AND c.relname = %s AND a.attnum > 0 ORDER BY a.attnum",
        [schema, name],
    )]


# State and what an unfinished change left ------------------------------------------------------


def temporary_type_comments(connection, prefixes: list[str]) -> list[str | None]:
    """Comments of the enum types of the current schema named with any of ``prefixes``."""
    return [row[0] for row in _rows(
        connection,
        "SELECT obj_description(t.oid, 'pg_type') FROM pg_type t "
        f"WHERE t.typnamespace = {CURRENT_NAMESPACE} AND t.typtype = 'e' "
        "AND EXISTS (SELECT FROM unnest(%s::text[]) p WHERE starts_with(t.typname, p))",
        [prefixes],
    )]


def function_comment(connection, schema: str, name: str) -> tuple[str | None] | None:
    """``(comment,)`` of function ``schema.name``; None when there is no such function."""
    return _row(connection, "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s "
                "AND p.proname = %s", [schema, name])


def function_comments(connection, prefix: str) -> list[str | None]:
    """Comments of every function whose name starts with ``prefix``."""
    return [row[0] for row in _rows(
        connection,
        "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p WHERE left(p.proname, %s) = %s",
        [len(prefix), prefix],
    )]


def current_schema(connection) -> str:
    return _row(connection, "SELECT current_schema()", [])[0]


def tables_using(connection, type_name: str) -> list[Table]:
    """Each table with a column of the current schema's type ``type_name`` (or an array of
    it)."""
    return [Table(*row) for row in _rows(connection, f"""
SELECT DISTINCT c.oid::bigint, n.nspname, c.relname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid OR t.typarray = a.atttypid
WHERE t.typname = %s AND t.typnamespace = {CURRENT_NAMESPACE}
  AND NOT a.attisdropped AND a.attnum > 0 AND c.relkind IN ('r', 'p')
""", [type_name])]


def columns_of_type(connection, table_oid: int, type_name: str) -> list[str]:
    """The names of a table's columns of the current schema's type ``type_name`` (or arrays)."""
    return [row[0] for row in _rows(connection, f"""
SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    OR t.typarray = a.atttypid
WHERE a.attrelid = %s AND t.typname = %s AND t.typnamespace = {CURRENT_NAMESPACE}
  AND NOT a.attisdropped
""", [table_oid, type_name])]


def copies_naming(connection, type_name: str) -> list[tuple[str, str, str | None]]:
    """Our index and constraint copies (named ``betintel_…``) that name the current schema's
    type ``type_name``: ``(schema, relation, constraint)``, the constraint None for an index
    (then the relation is the index; else it is the constraint's table)."""
    return _rows(connection, f"""
SELECT DISTINCT n.nspname, c.relname, con.conname FROM pg_depend d
JOIN pg_type t ON t.oid = d.refobjid
LEFT JOIN pg_constraint con ON d.classid = 'pg_constraint'::regclass AND con.oid = d.objid
JOIN pg_class c ON c.oid = CASE WHEN con.oid IS NULL THEN d.objid ELSE con.conrelid END
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE d.refclassid = 'pg_type'::regclass AND t.typname = %s
  AND t.typnamespace = {CURRENT_NAMESPACE}
  AND (con.oid IS NOT NULL OR (d.classid = 'pg_class'::regclass AND c.relkind = 'i'))
  AND left(coalesce(con.conname, c.relname), 9) = 'betintel_'
""", [type_name])

