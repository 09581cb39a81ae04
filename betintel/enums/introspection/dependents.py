"""What uses an enum type or a column, found from the catalog (pg_depend, pg_attribute).

``type_dependents`` sorts every dependent of a type (and of its array type) into what a type
swap can carry over — table columns, their defaults, indexes and constraints whose expressions
name the type, foreign keys between columns of the type — and what it cannot (views, domains,
functions, a partition key, …), which it reports by name. Other objects that depend on a
converted column (a plain index, a unique constraint) need nothing from us: ``ALTER COLUMN …
TYPE`` rebuilds them itself, except those it refuses to handle (views, rules, triggers,
policies), which are reported too.

A column converted between a character type and an enum type (``conversion/plan.py``) needs
its own few: Django's ``_like`` index on it, and the indexes and constraints whose expressions
use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .objects import Column, Table
from .types import type_schema

_TARGET = """
WITH target AS (
    SELECT t.oid, t.typarray
    FROM pg_type t
    WHERE t.typname = %s AND t.typnamespace = %s::regnamespace
)
"""

# Every object that depends on the type or its array type, the array type itself excepted.
_TYPE_DEPENDENTS_SQL = (
    _TARGET
    + """
SELECT d.classid::regclass::text, d.objid::bigint, d.objsubid,
       pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d, target
WHERE d.refclassid = 'pg_type'::regclass
  AND d.refobjid IN (target.oid, target.typarray)
  AND NOT (d.classid = 'pg_type'::regclass AND d.objid = target.typarray)
ORDER BY 4
"""
)

_COLUMNS_SQL = (
    _TARGET
    + """
SELECT c.oid::bigint, n.nspname, c.relname, c.oid::regclass::text, c.relkind::text,
       c.relpersistence, a.attnum, a.attname,
       a.atttypid = target.typarray, a.attinhcount, a.attgenerated <> '',
       EXISTS (SELECT 1 FROM pg_partitioned_table pt
               WHERE pt.partrelid = c.oid AND a.attnum = ANY(pt.partattrs::int2[])),
       c.reltuples::bigint, pg_total_relation_size(c.oid)
FROM target, pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attrelid = %s AND a.attnum = %s
"""
)

_DEFAULT_SQL = (
    _TARGET
    + """
SELECT ad.adrelid::bigint, n.nspname, c.relname, a.attname, pg_get_expr(ad.adbin, ad.adrelid),
       format_type(a.atttypid, a.atttypmod),
       CASE a.atttypid WHEN target.oid THEN false WHEN target.typarray THEN true END,
       a.attinhcount > 0
FROM target, pg_attrdef ad
JOIN pg_class c ON c.oid = ad.adrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
WHERE ad.oid = %s
"""
)

_INDEX_SQL = """
SELECT i.indrelid::bigint, n.nspname, ic.relname, pg_get_indexdef(i.indexrelid),
       obj_description(i.indexrelid, 'pg_class'),
       (SELECT con.oid::bigint FROM pg_constraint con WHERE con.conindid = i.indexrelid
          AND con.contype IN ('p', 'u', 'x') AND con.conrelid = i.indrelid),
       (SELECT ARRAY[pn.nspname::text, pc.relname::text]
          FROM pg_inherits inh
          JOIN pg_class pc ON pc.oid = inh.inhparent
          JOIN pg_namespace pn ON pn.oid = pc.relnamespace
          WHERE inh.inhrelid = i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE i.indexrelid = %s
"""

_CONSTRAINT_SQL = """
SELECT con.conrelid::bigint, n.nspname, c.relname, con.conname, pg_get_constraintdef(con.oid),
       obj_description(con.oid, 'pg_constraint'), con.coninhcount > 0 AND NOT con.conislocal,
       con.contypid::regtype::text
FROM pg_constraint con
LEFT JOIN pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.oid = %s
"""

# Foreign keys from or to a column: rebuilt after both sides have the new type.
_FOREIGN_KEYS_SQL = """
SELECT con.oid::bigint, con.conrelid::bigint, n.nspname, c.relname, con.conname,
       pg_get_constraintdef(con.oid), obj_description(con.oid, 'pg_constraint')
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND ((con.conrelid = %s AND %s = ANY(con.conkey))
       OR (con.confrelid = %s AND %s = ANY(con.confkey)))
"""

_RULE_SQL = """
SELECT r.rulename, r.ev_class::regclass::text, c.relkind
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
WHERE r.oid = %s
"""

# Objects that depend on one column and that ALTER COLUMN ... TYPE refuses to carry over.
_COLUMN_USERS_SQL = """
SELECT d.classid::regclass::text, d.objid::bigint, d.objsubid,
       pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = %s AND d.refobjsubid = %s
  AND d.classid NOT IN ('pg_constraint'::regclass, 'pg_statistic_ext'::regclass)
  AND NOT (d.classid = 'pg_class'::regclass AND d.objsubid = 0)
  AND NOT (d.classid = 'pg_attrdef'::regclass AND d.objid IN (
        SELECT ad.oid FROM pg_attrdef ad WHERE ad.adrelid = %s AND ad.adnum = %s))
ORDER BY 4
"""

_RELKINDS = {
    "v": "view",
    "m": "materialized view",
    "c": "composite type",
    "f": "foreign table",
}


@dataclass(frozen=True)
class Default:
    """A column default whose expression names the type."""

    table_oid: int
    schema: str
    table: str
    column: str
    expression: str
    column_type: str
    #: None when the column is not of the type; else whether it is of its array type.
    array: bool | None
    #: The column comes from a parent table (a partition's, say).
    inherited: bool


@dataclass(frozen=True)
class Index:
    """A stand-alone index whose definition names the type (a partial index, say)."""

    table_oid: int
    schema: str
    name: str
    definition: str
    comment: str | None
    #: ``(schema, name)`` of the partitioned index this one is attached to, if any.
    parent: tuple[str, str] | None = None


@dataclass(frozen=True)
class Constraint:
    """A table constraint whose definition names the type (a CHECK, say)."""

    table_oid: int
    schema: str
    table: str
    name: str
    definition: str
    comment: str | None


@dataclass
class Dependents:
    """Everything that uses an enum type, sorted by what a type swap does with it."""

    columns: list[Column] = field(default_factory=list)
    defaults: list[Default] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    foreign_keys: list[Constraint] = field(default_factory=list)
    tables: dict[int, Table] = field(default_factory=dict)
    #: Readable names of the objects a swap cannot rebuild (views, domains, functions, …).
    blockers: list[str] = field(default_factory=list)


def describe_dependents(connection, type_name: str, schema: str | None = None) -> list[str]:
    """Readable names of the objects that use ``type_name`` (columns, functions, types, …);
    the type is the one in ``schema``, by default the one its columns use."""
    schema = schema or type_schema(connection, type_name)
    with connection.cursor() as cursor:
        cursor.execute(_TYPE_DEPENDENTS_SQL, [type_name, schema])
        # An object using both the type and its array type is named once.
        return list(dict.fromkeys(row[3] for row in cursor.fetchall()))


def type_dependents(connection, type_name: str, schema: str | None = None) -> Dependents:
    """Every dependent of ``type_name`` (in ``schema``, by default the one its columns use) and
    of its array type, sorted for a type swap."""
    found = Dependents()
    constraint_oids: set[int] = set()
    target = [type_name, schema or type_schema(connection, type_name)]
    with connection.cursor() as cursor:
        cursor.execute(_TYPE_DEPENDENTS_SQL, target)
        rows = cursor.fetchall()
        for catalog, objid, objsubid, description in rows:
            if catalog == "pg_class" and objsubid > 0:
                _add_column(cursor, target, objid, objsubid, found)
            elif catalog == "pg_class":
                _add_index(cursor, objid, description, found, constraint_oids)
            elif catalog == "pg_attrdef":
                _add_default(cursor, target, objid, found)
            elif catalog == "pg_constraint":
                constraint_oids.add(objid)
            elif catalog == "pg_rewrite":
                found.blockers.append(_describe_rule(cursor, objid))
            else:
                found.blockers.append(description)
        for oid in sorted(constraint_oids):
            _add_constraint(cursor, oid, found)
        for column in found.columns:
            _add_foreign_keys(cursor, column, found)
            cursor.execute(
                _COLUMN_USERS_SQL,
                [column.table_oid, column.attnum, column.table_oid, column.attnum],
            )
            for catalog, objid, _subid, description in cursor.fetchall():
                found.blockers.append(
                    _describe_rule(cursor, objid) if catalog == "pg_rewrite" else description
                )
    found.blockers = list(dict.fromkeys(found.blockers))
    return found


def _add_column(cursor, target: list[str], table_oid, attnum, found: Dependents) -> None:
    cursor.execute(_COLUMNS_SQL, [*target, table_oid, attnum])
    (oid, schema, table, relation, relkind, persistence, attnum, name, array, inherited,
     generated, partition_key, rows, size) = cursor.fetchone()
    if relkind not in ("r", "p"):
        found.blockers.append(f"{_RELKINDS.get(relkind, 'relation')} {relation}")
    elif persistence == "t":
        found.blockers.append(f"temporary table {relation} of another session")
    elif generated:
        found.blockers.append(f"generated column {name} of table {relation}")
    elif partition_key:
        found.blockers.append(f"the partition key of table {relation} (column {name})")
    elif inherited == 0:
        # Inherited columns (partitions, child tables) follow their parent's ALTER TABLE.
        found.columns.append(Column(target[0], oid, schema, table, name, attnum, array, relkind,
                                    f"{relation}.{name}"))
        found.tables.setdefault(oid, Table(oid, schema, table, rows, size))


def _add_index(cursor, index_oid, description, found, constraint_oids: set[int]) -> None:
    cursor.execute(_INDEX_SQL, [index_oid])
    row = cursor.fetchone()
    if row is None:
        found.blockers.append(description)
        return
    table_oid, schema, name, definition, comment, constraint_oid, parent = row
    if constraint_oid is not None:
        constraint_oids.add(constraint_oid)  # an exclusion constraint: rebuilt as such
    else:
        # The indexes of partitions are rebuilt one by one and attached to their parent
        # again, as pg_dump does, so that each keeps its name.
        found.indexes.append(Index(table_oid, schema, name, definition, comment,
                                   tuple(parent) if parent else None))
        _add_table(cursor, table_oid, found)


def _add_default(cursor, target: list[str], attrdef_oid, found: Dependents) -> None:
    cursor.execute(_DEFAULT_SQL, [*target, attrdef_oid])
    found.defaults.append(Default(*cursor.fetchone()))
    _add_table(cursor, found.defaults[-1].table_oid, found)


def _add_foreign_keys(cursor, column: Column, found: Dependents) -> None:
    cursor.execute(_FOREIGN_KEYS_SQL, [column.table_oid, column.attnum] * 2)
    known = {(key.table_oid, key.name) for key in found.foreign_keys}
    for _oid, table_oid, schema, table, name, definition, comment in cursor.fetchall():
        if (table_oid, name) not in known:
            found.foreign_keys.append(
                Constraint(table_oid, schema, table, name, definition, comment)
            )
            _add_table(cursor, table_oid, found)


def _add_constraint(cursor, constraint_oid, found: Dependents) -> None:
    cursor.execute(_CONSTRAINT_SQL, [constraint_oid])
    table_oid, schema, table, name, definition, comment, inherited, domain = cursor.fetchone()
    if not table_oid:
        found.blockers.append(f"constraint {name} of domain {domain}")
    elif not inherited:
        # Inherited copies are dropped and re-added with the parent's constraint.
        found.constraints.append(Constraint(table_oid, schema, table, name, definition, comment))
        _add_table(cursor, table_oid, found)


def _add_table(cursor, table_oid: int, found: Dependents) -> None:
    if table_oid in found.tables:
        return
    cursor.execute(
        "SELECT n.nspname, c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s",
        [table_oid],
    )
    schema, name, rows, size = cursor.fetchone()
    found.tables[table_oid] = Table(table_oid, schema, name, rows, size)


def _describe_rule(cursor, rule_oid: int) -> str:
    cursor.execute(_RULE_SQL, [rule_oid])
    rulename, relation, relkind = cursor.fetchone()
    if rulename == "_RETURN":
        return f"{_RELKINDS.get(relkind, 'relation')} {relation}"
    return f"rule {rulename} on {relation}"


# Single-column indexes on the column with a pattern operator class (Django's ``_like`` index).
_PATTERN_INDEXES_SQL = """
SELECT ic.relname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_opclass oc ON oc.oid = i.indclass[0]
WHERE i.indrelid = %s AND i.indnatts = 1 AND i.indkey[0] = %s AND oc.opcname = ANY(%s)
ORDER BY 1
"""

# Indexes and constraints whose expressions or predicates involve the column.
_EXPRESSION_DEPENDENTS_SQL = """
SELECT ic.relname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = %(table)s AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)
  AND EXISTS (SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
                AND d.refobjsubid = %(attnum)s)
UNION
SELECT conname FROM pg_constraint
WHERE conrelid = %(table)s AND contype = 'c' AND %(attnum)s = ANY(conkey)
ORDER BY 1
"""


def pattern_indexes(connection, table_oid: int, attnum: int, opclasses: list[str]) -> list[str]:
    """Names of the single-column indexes on column ``attnum`` with one of ``opclasses``."""
    with connection.cursor() as cursor:
        cursor.execute(_PATTERN_INDEXES_SQL, [table_oid, attnum, opclasses])
        return [name for (name,) in cursor.fetchall()]


def expression_dependents(connection, table_oid: int, attnum: int) -> set[str]:
    """Names of the indexes and CHECK constraints whose expressions use column ``attnum``."""
    with connection.cursor() as cursor:
        cursor.execute(_EXPRESSION_DEPENDENTS_SQL, {"table": table_oid, "attnum": attnum})
        return {name for (name,) in cursor.fetchall()}
