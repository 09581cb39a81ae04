"""The plan of one conversion, made from the catalog before anything changes.

``plan_conversion`` reads the column (its table, default, pattern-ops indexes, and the
indexes and constraints whose expressions use it) and says, in a ``ColumnConversion``, what
the conversion does: the new type, the ``USING`` expression, the default put back as a
constant of the new type, the ``_like`` indexes dropped and the ``Meta`` indexes and
constraints made again. A default that is not a constant, or (going to the enum) not a label
of the type, is refused here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import models
from psycopg import sql

from .. import introspection
from .. import sql as enum_sql
from ..errors import RefusedChange
from ..fields import base_enum_field
from ..introspection import Table
from .fields import enum_shape, intermediate_field

_PATTERN_OPS = ("varchar_pattern_ops", "text_pattern_ops", "bpchar_pattern_ops")


@dataclass
class ColumnConversion:
    """Everything one conversion does to one column, planned before anything changes.

    The online path (SPEC §4a) needs exactly this: the table, the column, its new type, the
    ``USING`` expression, the default to put back, and the indexes and constraints to rebuild.
    """

    model: type[models.Model]
    target_model: type[models.Model]
    column: str
    to_enum: bool
    #: The enum type on the enum side of the conversion.
    type_name: str
    #: The column type after the conversion, as Django writes it (``"colour_enum"``,
    #: ``varchar(20)``, ``"colour_enum"[]``).
    target_type: str
    array: bool
    #: The table as the catalog has it (with its planner estimate); None under sqlmigrate
    #: before the table exists.
    table: Table | None = None
    old_default: str | None = None
    new_default: sql.Composable | None = None
    #: Names of indexes with a pattern operator class on the column (dropped going to enum).
    pattern_indexes: list[str] = field(default_factory=list)
    #: Django ``Meta`` indexes and constraints made again from the target model.
    rebuilt_indexes: list[tuple[models.Index | None, models.Index]] = field(default_factory=list)
    rebuilt_constraints: list[tuple[object | None, object]] = field(default_factory=list)
    #: Going back: the character field the column becomes (its ``max_length`` bounds the
    #: values, and Django gives it a ``_like`` index when indexed).
    character_field: models.Field | None = None

    @property
    def direction(self) -> str:
        """``to enum type colour_enum`` or ``to varchar(20)``."""
        return f"to enum type {self.type_name}" if self.to_enum else f"to {self.target_type}"

    @property
    def purpose(self) -> str:
        return f"converting column {self.column} of table {self.table} {self.direction}"

    def using(self) -> sql.Composable:
        """``USING`` expression: through text, so any character type and any enum type meet."""
        via = sql.SQL("text[]" if self.array else "text")
        return sql.SQL("({}::{})::{}").format(
            sql.Identifier(self.column), via, sql.SQL(self.target_type)
        )

    def alter_statement(self) -> sql.Composable:
        """The one ``ALTER TABLE``: drop the default, convert, put the default back."""
        column = sql.Identifier(self.column)
        actions: list[sql.Composable] = []
        if self.old_default is not None:
            actions.append(enum_sql.drop_default(self.column))
        actions.append(
            sql.SQL("ALTER COLUMN {} TYPE {} USING {}").format(
                column, sql.SQL(self.target_type), self.using()
            )
        )
        if self.new_default is not None:
            actions.append(enum_sql.set_default(self.column, self.new_default))
        table = self.table.identifier if self.table else _django_table(self.model)
        return enum_sql.alter_table(table, actions)


def _django_table(model) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def plan_conversion(schema_editor, model, old_field, new_field, target_model) -> ColumnConversion:
    """Plan converting ``old_field``'s column of ``model`` to ``new_field``'s type."""
    connection = schema_editor.connection
    to_enum = base_enum_field(new_field) is not None
    converted = intermediate_field(old_field, new_field)
    converted.model = target_model
    enum_field = base_enum_field(new_field if to_enum else old_field)
    plan = ColumnConversion(
        model=model,
        target_model=target_model,
        column=old_field.column,
        to_enum=to_enum,
        type_name=enum_field.enum_type_name,
        target_type=converted.db_type(connection),
        array=enum_shape(enum_field) != enum_shape(new_field if to_enum else old_field),
        character_field=None if to_enum else converted,
    )
    found = introspection.table_column(
        connection, schema_editor.quote_name(model._meta.db_table), plan.column
    )
    if found is None:
        return plan  # sqlmigrate before the table exists: the ALTER alone
    plan.table, attnum, default = found
    plan.old_default = default
    if to_enum:
        plan.pattern_indexes = introspection.pattern_indexes(
            connection, plan.table.oid, attnum, list(_PATTERN_OPS)
        )
    dependents = introspection.expression_dependents(connection, plan.table.oid, attnum)
    _plan_rebuilds(plan, model, target_model, dependents)
    if default is not None:
        plan.new_default = _new_default(connection, plan, default)
    return plan


def _plan_rebuilds(plan: ColumnConversion, model, target_model, dependents: set[str]) -> None:
    """Django ``Meta`` indexes/constraints over the column, made again from the target model."""
    old_indexes = {index.name: index for index in model._meta.indexes}
    old_constraints = {c.name: c for c in model._meta.constraints}
    for index in target_model._meta.indexes:
        if index.name in dependents:
            plan.rebuilt_indexes.append((old_indexes.get(index.name), index))
    for constraint in target_model._meta.constraints:
        if constraint.name in dependents:
            plan.rebuilt_constraints.append((old_constraints.get(constraint.name), constraint))


_CONSTANT = re.compile(r"'((?:[^']|'')*)'::[^']+")


def _new_default(connection, plan: ColumnConversion, expression: str) -> sql.Composable:
    """The column default as a constant of the new type; refused when it is not a constant
    or (going to the enum) not a label of the type."""
    where = f"column {plan.column} of table {plan.table}"
    constant = _CONSTANT.fullmatch(expression)
    if constant is None:
        raise RefusedChange(
            f"The default of {where} is {expression}, which is not a constant, so it cannot be "
            f"converted {plan.direction}. Nothing was changed. Drop or replace that default "
            "in a migration before this one, then run migrate again."
        )
    text = constant.group(1).replace("''", "'")
    if plan.to_enum:
        labels = enum_labels(connection, plan.type_name)
        if labels is not None:
            values = _array_elements(connection, text) if plan.array else [text]
            strays = [value for value in values if value is not None and value not in labels]
            if strays:
                raise RefusedChange(
                    f"The default of {where} is {expression}, which holds "
                    f"{', '.join(map(repr, strays))}: not a value of enum type "
                    f"{plan.type_name} ({', '.join(labels)}). Nothing was changed. Change the "
                    "default to a value of the type in a migration before this one, or add "
                    "the value to the choices."
                )
    # An untyped constant takes the column's new type, as Django writes defaults.
    return sql.Literal(text)


def _array_elements(connection, text: str) -> list[str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::text[])", [text])
        return [value for (value,) in cursor.fetchall()]


def enum_labels(connection, type_name: str) -> list[str] | None:
    """The labels of enum type ``type_name`` in the catalog; None when it does not exist."""
    existing = introspection.enum_type(connection, type_name)
    return list(existing.values) if existing is not None else None
