"""A type swap's plan, derived from the catalog before anything changes (SPEC §4).

``plan_removal`` turns the type's dependents (``introspection.type_dependents``) into a
``SwapPlan``: per table (``TablePlan``) the columns to convert, the defaults to drop and put
back mapped, the CHECK constraints and foreign keys to drop and add again; and the indexes to
drop and create again. ``checked_plan`` first refuses what the swap cannot do (``refusals.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from psycopg import sql

from .. import introspection, old_types
from .. import sql as enum_sql
from ..deprecation import comment_without_value
from ..errors import RefusedChange
from ..introspection import (
    Column,
    Constraint,
    Default,
    Dependents,
    EnumType,
    Index,
    Table,
    type_dependents,
)
from .refusals import check_replacement, refuse_blockers, refuse_if_named


@dataclass
class TablePlan:
    """What the swap does to one table: one main ``ALTER TABLE`` (the only rewrite), and the
    catalog-only steps that must come before or after every table's main one."""

    table: Table
    columns: list[Column] = field(default_factory=list)
    defaults: list[tuple[Default, sql.Composable]] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    #: Defaults of inherited columns: dropped before the parent converts them, set after.
    inherited_defaults: list[tuple[Default, sql.Composable]] = field(default_factory=list)
    #: Foreign keys between columns of the type: both sides must have the new type first.
    foreign_keys: list[Constraint] = field(default_factory=list)

    def before_statement(self):
        actions = [enum_sql.drop_constraint(key.name) for key in self.foreign_keys]
        actions += [enum_sql.drop_default(default.column) for default, _ in self.inherited_defaults]
        return self._alter(actions)

    def main_statement(self, type_name: str, value: str, replacement: str | None):
        """Drops, conversions, then what is put back: PostgreSQL rewrites the table once and
        checks the constraints put back during that rewrite."""
        actions: list[sql.Composable] = [enum_sql.drop_constraint(c.name) for c in self.constraints]
        actions += [enum_sql.drop_default(default.column) for default, _ in self.defaults]
        actions += [
            enum_sql.alter_column_type(column.name, type_name, column.array, value, replacement)
            for column in self.columns
        ]
        actions += [enum_sql.set_default(default.column, new) for default, new in self.defaults]
        actions += [enum_sql.add_constraint(c.name, c.definition) for c in self.constraints]
        return self._alter(actions)

    def after_statement(self):
        actions = [enum_sql.set_default(default.column, new)
                   for default, new in self.inherited_defaults]
        actions += [enum_sql.add_constraint(key.name, key.definition) for key in self.foreign_keys]
        return self._alter(actions)

    def comments(self) -> list:
        """``COMMENT ON CONSTRAINT`` for the constraints this plan drops and adds again."""
        return [
            enum_sql.comment_on(
                "CONSTRAINT", enum_sql.constraint_on(c.name, self.table.identifier), c.comment
            )
            for c in [*self.constraints, *self.foreign_keys]
            if c.comment is not None
        ]

    def _alter(self, actions: list):
        return enum_sql.alter_table(self.table.identifier, actions) if actions else None


@dataclass
class SwapPlan:
    """The whole swap of one type, derived from the catalog before anything changes."""

    type_name: str
    old_name: str
    value: str
    replacement: str | None
    values: list[str]
    comment: str | None
    tables: list[TablePlan]
    indexes: list[Index]
    #: The old type's owner, when it is not the role running the migration.
    owner: str | None = None
    #: The old type's values when the swap read them (under its lock).
    old_values: list[str] = field(default_factory=list)
    #: The schema of the type; None for statements shown as written (sqlmigrate).
    schema: str | None = None

    @property
    def qualified(self) -> str | tuple[str, str]:
        """The type as statements name it (with its schema, so search_path cannot misdirect
        them)."""
        return (self.schema, self.type_name) if self.schema else self.type_name

    @property
    def old_qualified(self) -> str | tuple[str, str]:
        return (self.schema, self.old_name) if self.schema else self.old_name


def checked_plan(
    connection, existing: EnumType, value: str, replacement: str | None
) -> SwapPlan:
    """The plan removing ``value`` from ``existing``, read from the catalog now; refuses (with
    nothing changed) a bad replacement and dependents the swap cannot rebuild."""
    check_replacement(existing, value, replacement)
    dependents = type_dependents(connection, existing.name, existing.schema)
    refuse_blockers(existing, value, dependents)
    return plan_removal(connection, existing, value, replacement, dependents)


def plan_removal(
    connection, existing: EnumType, value: str, replacement: str | None, dependents: Dependents
) -> SwapPlan:
    """The blocking swap removing ``value`` from ``existing``, planned from its ``dependents``.

    Refuses a default, index or constraint that names ``value``; does not look at
    ``dependents.blockers`` (``checked_plan`` does). The online swap plans from this too.
    """
    tables = {oid: TablePlan(table) for oid, table in dependents.tables.items()}
    for column in dependents.columns:
        tables[column.table_oid].columns.append(column)
    for default in dependents.defaults:
        new = mapped_default(connection, default, existing.name, value, replacement,
                             existing.qualified)
        plan = tables[default.table_oid]
        if default.inherited and default.array is not None:
            plan.inherited_defaults.append((default, new))
        else:
            plan.defaults.append((default, new))
    for constraint in dependents.constraints:
        refuse_if_named(constraint.definition, f"constraint {constraint.name} on table "
                        f"{constraint.schema}.{constraint.table}", existing.name, value)
        tables[constraint.table_oid].constraints.append(constraint)
    for key in dependents.foreign_keys:
        tables[key.table_oid].foreign_keys.append(key)
    for index in dependents.indexes:
        refuse_if_named(index.definition, f"index {index.schema}.{index.name}", existing.name,
                        value)
    return SwapPlan(
        type_name=existing.name,
        old_name=f"{old_types.BLOCKING_PREFIX}{existing.oid}",
        value=value,
        replacement=replacement,
        values=[v for v in existing.values if v != value],
        comment=comment_without_value(existing.comment, value, replacement),
        tables=sorted(tables.values(), key=lambda p: (p.table.schema, p.table.name)),
        indexes=dependents.indexes,
        owner=introspection.other_owner(connection, existing.oid),
        old_values=list(existing.values),
        schema=existing.schema,
    )


def mapped_default(
    connection, default: Default, type_name: str, value: str, replacement: str | None,
    target=None,
) -> sql.Composable:
    """The default to put back once ``value`` is gone: a constant is mapped like the rows; any
    other expression is kept as the server deparsed it (refused if it names ``value``).
    ``target`` names the type in the constant (with its schema), ``type_name`` by default."""
    what = f"default of column {default.column} of table {default.schema}.{default.table}"
    array = default.array
    constant = re.fullmatch(
        r"'((?:[^']|'')*)'::" + re.escape(default.column_type), default.expression
    )
    if array is None or constant is None:
        refuse_if_named(default.expression, what, type_name, value)
        return enum_sql.catalog_definition(default.expression)
    text = constant.group(1).replace("''", "'")
    if array:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT %s = ANY(%s::text[]), array_replace(%s::text[], %s, %s)::text",
                [value, text, text, value, replacement],
            )
            holds, mapped = cursor.fetchone()
    else:
        holds, mapped = text == value, replacement if text == value else text
    if holds and replacement is None:
        raise RefusedChange(
            f"The {what} is {default.expression}, which holds value {value!r} of enum type "
            f"{type_name}, and no replacement was given. Nothing was changed. Give a "
            "replacement, or change the default in an earlier migration."
        )
    return enum_sql.typed_literal(mapped, target or type_name, array)
