"""Converting a column between a character type and an enum type (SPEC §4b).

``ConvertToEnumField`` (a ``CharField``/``TextField`` becomes an ``EnumField``) and
``ConvertFromEnumField`` (the way back) are Django ``AlterField``\\ s, so migration state stays
Django's; only the database step differs. Django would run ``ALTER COLUMN … TYPE`` without a
``USING`` clause (an ``EnumField`` is a ``CharField`` to it), which PostgreSQL refuses. Here the
conversion is planned from the catalog first (``plan_conversion``):

- going to the enum, the rows whose value is not a label of the type (empty strings and
  whitespace variants included) are counted, and the conversion is refused, naming up to ten
  such values with their row counts, before anything changes; going back to a character
  column, values longer than its ``max_length`` are refused the same way;
- the column's default is dropped and put back as a constant of the new type;
- Django's ``_like`` index (``varchar_pattern_ops``), which an enum column cannot have, is
  dropped, as Django drops it for any non-character column, and made again (as Django would)
  on the way back;
- indexes and constraints of the model's ``Meta`` whose definitions hold an expression over the
  column (a partial index, a CHECK) are made again from the target model, so their constants
  have the column's new type; plain, unique and primary-key indexes are rebuilt by
  PostgreSQL itself during the ``ALTER``.

Then ``run_conversion`` carries it out, as ``conversion_strategy`` chooses: in place, in one
``ALTER TABLE … ALTER COLUMN … TYPE … USING`` under the lock budget of ``locks.py``, or online
(``online.choose_conversion``, the rules of the online type swap: a non-atomic migration and a
table above ``ENUM_ONLINE_MIN_ROWS`` under ``ENUM_SWAP=auto``, always under ``online``). Online,
the column is converted beside live traffic by the online swap's machinery: a shadow column of
the target type filled through the ``USING`` expression by a trigger and a batched backfill,
indexes built again ``CONCURRENTLY``, CHECKs and ``NOT NULL`` proven by validated constraints,
then a switch that only changes the catalog. A value written meanwhile that the target type
cannot hold never makes the write fail: the shadow gets NULL, the old column keeps the value,
and the conversion stops before its switch naming such values (it resumes once they are
changed). Either way the stray-value check runs first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, models, transaction
from django.db.migrations.operations import AlterField
from psycopg import sql

from . import introspection, locks
from . import sql as enum_sql
from .errors import RefusedChange, sqlstate
from .fields import EnumField, base_enum_field
from .introspection import Table

#: How many offending values a refusal names.
SHOWN_VALUES = 10

#: SQLSTATEs of values the new type refuses: "invalid input value for enum", "value too long".
VALUE_REFUSED = {"22P02", "22001"}
#: SQLSTATEs of dependents PostgreSQL cannot carry through ``ALTER COLUMN … TYPE``: a view or
#: rule (feature_not_supported), an operator class or an expression that no longer fits the
#: new type (datatype_mismatch, undefined_function, undefined_object).
DEPENDENT_REFUSED = {"0A000", "42804", "42883", "42704"}

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
    def purpose(self) -> str:
        direction = f"to enum type {self.type_name}" if self.to_enum else f"to {self.target_type}"
        return f"converting column {self.column} of table {self.table} {direction}"

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


def is_conversion(old_field, new_field) -> bool:
    """Whether altering ``old_field`` into ``new_field`` moves it into or out of an enum type."""
    old_enum, new_enum = base_enum_field(old_field), base_enum_field(new_field)
    if (old_enum is None) == (new_enum is None):
        return False
    char = old_field if new_enum is not None else new_field
    enum = new_field if new_enum is not None else old_field
    return _character_shape(char) == _enum_shape(enum)


def _character_shape(model_field) -> tuple[str, ...] | None:
    """``("scalar",)`` for a character field, ``("array", …)`` for arrays of one; else None."""
    if isinstance(model_field, EnumField):
        return None
    if isinstance(model_field, models.CharField | models.TextField):
        return ("scalar",)
    base = getattr(model_field, "base_field", None)
    if base is not None:
        inner = _character_shape(base)
        return ("array", *inner) if inner else None
    return None


def _enum_shape(model_field) -> tuple[str, ...] | None:
    if isinstance(model_field, EnumField):
        return ("scalar",)
    base = getattr(model_field, "base_field", None)
    if base is not None:
        inner = _enum_shape(base)
        return ("array", *inner) if inner else None
    return None


def intermediate_field(old_field, new_field):
    """``old_field`` with ``new_field``'s column type: what the column is right after the
    conversion, before Django applies any other change of the same ``AlterField``."""
    base_old = _innermost(old_field)
    base_new = _innermost(new_field)
    _n, _p, _a, base_kwargs = base_old.deconstruct()
    if isinstance(base_new, EnumField):
        for key in ("max_length", "choices", "db_collation"):
            base_kwargs.pop(key, None)
        base = EnumField(
            type_name=base_new.enum_type_name,
            values=base_new.enum_values,
            deprecated=base_new.enum_deprecated or None,
            **base_kwargs,
        )
    else:
        for key in ("type_name", "values", "deprecated"):
            base_kwargs.pop(key, None)
        if isinstance(base_new, models.CharField):
            base_kwargs["max_length"] = base_new.max_length
        base = base_new.__class__(**base_kwargs)
    converted = _rewrap(old_field, base)
    converted.set_attributes_from_name(old_field.name)
    converted.model = getattr(new_field, "model", None)
    return converted


def _innermost(model_field):
    while getattr(model_field, "base_field", None) is not None:
        model_field = model_field.base_field
    return model_field


def _rewrap(outer, base):
    if getattr(outer, "base_field", None) is None:
        return base
    _name, _path, args, kwargs = outer.deconstruct()
    kwargs["base_field"] = _rewrap(outer.base_field, base)
    return outer.__class__(*args, **kwargs)


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
        array=_enum_shape(enum_field) != _enum_shape(new_field if to_enum else old_field),
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
            f"converted {_direction(plan)}. Nothing was changed. Drop or replace that default "
            "in a migration before this one, then run migrate again."
        )
    text = constant.group(1).replace("''", "'")
    if plan.to_enum:
        labels = _labels(connection, plan.type_name)
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


def _labels(connection, type_name: str) -> list[str] | None:
    existing = introspection.enum_type(connection, type_name)
    return list(existing.values) if existing is not None else None


def _direction(plan: ColumnConversion) -> str:
    return f"to enum type {plan.type_name}" if plan.to_enum else f"to {plan.target_type}"


# Refusing before anything changes ------------------------------------------------------------


@dataclass(frozen=True)
class Offending:
    """Values that would not survive a conversion: the first few, and how many there are."""

    #: ``(value, rows holding it)``, most rows first, at most ``SHOWN_VALUES``.
    shown: list[tuple[str, int]]
    distinct: int

    def __bool__(self) -> bool:
        return bool(self.shown)

    def describe(self) -> str:
        """``'' (3 rows), 'red ' (1 row), and 4 other values``."""
        parts = [f"{value!r} ({_rows(count)})" for value, count in self.shown]
        others = self.distinct - len(self.shown)
        if others > 0:
            parts.append(f"and {others} other value{'s' if others != 1 else ''}")
        return ", ".join(parts)


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def stray_values(connection, plan: ColumnConversion, labels: list[str]) -> Offending:
    """The values of the column that are not labels of the type."""
    return _offending(connection, plan, sql.SQL("v <> ALL({})").format(sql.Literal(labels)))


def too_long_values(connection, plan: ColumnConversion, max_length: int) -> Offending:
    """The values of the column longer than ``max_length`` characters."""
    return _offending(connection, plan, sql.SQL("char_length(v) > {}").format(
        sql.Literal(max_length)))


def _offending(connection, plan: ColumnConversion, condition: sql.Composable) -> Offending:
    """One scan of the table: each offending value with the rows holding it (for arrays, the
    rows holding it at least once); the window count says how many values there are in all."""
    column = sql.Identifier(plan.column)
    if plan.array:
        values = sql.SQL(
            "SELECT DISTINCT t.ctid, u.v FROM {} t CROSS JOIN LATERAL unnest(t.{}::text[]) u(v)"
        ).format(plan.table.identifier, column)
    else:
        values = sql.SQL("SELECT {}::text AS v FROM {}").format(column, plan.table.identifier)
    query = sql.SQL(
        "SELECT v, count(*), count(*) OVER () FROM ({}) s WHERE v IS NOT NULL AND {} "
        "GROUP BY v ORDER BY count(*) DESC, v LIMIT {}"
    ).format(values, condition, sql.Literal(SHOWN_VALUES))
    with connection.cursor() as cursor:
        cursor.execute(enum_sql.render(query, connection))
        rows = cursor.fetchall()
    return Offending([(value, count) for value, count, _ in rows], rows[0][2] if rows else 0)


def refuse_if_unconvertible(connection, plan: ColumnConversion) -> None:
    """Refuse, naming up to ten offending values with their row counts, when rows would not
    survive the conversion."""
    if plan.table is None:
        return
    where = f"column {plan.column} of table {plan.table}"
    if plan.to_enum:
        labels = _labels(connection, plan.type_name)
        if labels is None:
            raise RefusedChange(
                f"Enum type {plan.type_name} does not exist, so {where} cannot be converted "
                "to it. Apply the migration that creates it (CreateEnumType) first."
            )
        found = stray_values(connection, plan, labels)
        if found:
            raise RefusedChange(
                f"Column {plan.column} of table {plan.table} cannot be converted to enum type "
                f"{plan.type_name}: rows hold values that are not values of the type: "
                f"{found.describe()}. Nothing was changed. Map those rows to values "
                f"of the type ({', '.join(labels)}) with a data migration (RunPython or "
                "RunSQL) placed before this one, or add the values to the choices class, "
                "then run makemigrations and migrate again."
            )
        return
    max_length = getattr(_innermost(plan.character_field), "max_length", None)
    if max_length is not None:
        found = too_long_values(connection, plan, max_length)
        if found:
            raise RefusedChange(
                f"Column {plan.column} of table {plan.table} cannot be converted to "
                f"{plan.target_type}: rows hold values longer than {max_length} characters: "
                f"{found.describe()}. Nothing was changed. Give the field a "
                "max_length that fits them, then run makemigrations and migrate again."
            )


# Carrying it out -----------------------------------------------------------------------------

Converter = Callable[[object, ColumnConversion], None]


def conversion_strategy(schema_editor, plan: ColumnConversion) -> Converter:
    """How ``plan`` is carried out: online (``online.choose_conversion``) or in place."""
    from . import online

    online_plan = online.choose_conversion(schema_editor, plan)
    if online_plan is None:
        online.leave_conversion(schema_editor, plan)
        return convert_in_place

    def convert_online(schema_editor, plan: ColumnConversion) -> None:
        online.convert(schema_editor, online_plan)
        _like_index_concurrently(schema_editor, plan)

    return convert_online


def _like_index_concurrently(schema_editor, plan: ColumnConversion) -> None:
    """Django's ``_like`` index of an indexed character column, built beside live traffic."""
    if plan.character_field is None or plan.array:
        return
    like_index = schema_editor._create_like_index_sql(plan.target_model, plan.character_field)
    if like_index is not None:
        text = str(like_index).replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS ",
                                       1)
        schema_editor.execute(text, None)


def run_conversion(schema_editor, plan: ColumnConversion) -> None:
    """Check ``plan`` against the rows, then carry it out with the chosen strategy."""
    if not schema_editor.collect_sql:
        refuse_if_unconvertible(schema_editor.connection, plan)
    conversion_strategy(schema_editor, plan)(schema_editor, plan)


def convert_in_place(schema_editor, plan: ColumnConversion) -> None:
    """One ``ALTER TABLE`` rewriting the table, under an ACCESS EXCLUSIVE lock taken within the
    lock budget; everything in one savepoint, so a failure leaves the table as it was."""
    connection = schema_editor.connection
    tables = [plan.table] if plan.table is not None else []
    if schema_editor.collect_sql:
        locks.lock_tables(schema_editor, tables, plan.purpose)
        _statements(schema_editor, plan)
        return
    try:
        # The ALTER also locks what the table's lock does not cover (its indexes, the type):
        # those waits are bounded like one attempt at the table's lock.
        with transaction.atomic(using=connection.alias), locks.under_lock_timeout(connection):
            locks.lock_tables(schema_editor, tables, plan.purpose)
            _statements(schema_editor, plan)
    except DatabaseError as exc:
        state = sqlstate(exc)
        if state in DEPENDENT_REFUSED:
            raise RefusedChange(
                f"PostgreSQL refused {plan.purpose}: {str(exc).strip()}. Nothing was changed. "
                "An object made outside this model's Meta (a view, a rule, an index or "
                "constraint written by hand) depends on the column: drop it in a migration "
                "before this one and create it again, for the new type, in one after."
            ) from exc
        if state not in VALUE_REFUSED:
            raise
        # Rows written since the check: count again, and say which.
        refuse_if_unconvertible(connection, plan)
        raise RefusedChange(
            f"PostgreSQL refused {plan.purpose} ({str(exc).strip()}). Nothing was changed. "
            "Check the column's values, default and constraints, then run migrate again."
        ) from exc


def _statements(schema_editor, plan: ColumnConversion) -> None:
    for name in plan.pattern_indexes:
        enum_sql.execute(schema_editor, enum_sql.drop_index(
            enum_sql.table_name(plan.table.schema, name)))
    for old, new in plan.rebuilt_indexes:
        if old is not None:
            schema_editor.remove_index(plan.model, old)
        else:
            enum_sql.execute(schema_editor, enum_sql.drop_index(
                enum_sql.table_name(plan.table.schema, new.name)))
    for old, new in plan.rebuilt_constraints:
        schema_editor.remove_constraint(plan.model, old if old is not None else new)
    enum_sql.execute(schema_editor, plan.alter_statement())
    for _old, new in plan.rebuilt_constraints:
        schema_editor.add_constraint(plan.target_model, new)
    for _old, new in plan.rebuilt_indexes:
        schema_editor.add_index(plan.target_model, new)
    if plan.character_field is not None and not plan.array:
        # The index Django gives an indexed character column for LIKE queries.
        like_index = schema_editor._create_like_index_sql(plan.target_model,
                                                          plan.character_field)
        if like_index is not None:
            schema_editor.execute(like_index)


# The operations --------------------------------------------------------------------------------


class EnumConversion(AlterField):
    """An ``AlterField`` whose database step converts the column between a character type and
    an enum type; migration state is Django's."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, to_model):
            return
        from_model = from_state.apps.get_model(app_label, self.model_name)
        from_field = from_model._meta.get_field(self.name)
        to_field = to_model._meta.get_field(self.name)
        if schema_editor.connection.vendor != "postgresql" or not is_conversion(
            from_field, to_field
        ):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        plan = plan_conversion(schema_editor, from_model, from_field, to_field, to_model)
        run_conversion(schema_editor, plan)
        # Whatever else this AlterField changes (null, an index, the column name) is Django's.
        converted = intermediate_field(from_field, to_field)
        converted.model = to_model
        schema_editor.alter_field(to_model, converted, to_field)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self.database_forwards(app_label, schema_editor, from_state, to_state)

    def reduce(self, operation, app_label):
        if (
            isinstance(operation, AlterField)
            and not isinstance(operation, EnumConversion)
            and self.is_same_field_operation(operation)
        ):
            return False  # merging would lose the conversion
        return super().reduce(operation, app_label)


class ConvertToEnumField(EnumConversion):
    """A character field (or an array of one) becomes an ``EnumField``; backwards converts
    back. Refused, with nothing changed, while rows hold values that are not in the type."""

    def describe(self) -> str:
        enum_field = base_enum_field(self.field)
        return (
            f"Convert field {self.name} on {self.model_name} to enum type "
            f"{enum_field.enum_type_name if enum_field else '?'}"
        )

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_{self.name_lower}_to_enum"


class ConvertFromEnumField(EnumConversion):
    """An ``EnumField`` (or an array of one) becomes a character field again; backwards
    converts back to the enum type, refused while rows hold values the type lacks."""

    def describe(self) -> str:
        return f"Convert field {self.name} on {self.model_name} from an enum type to text"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_{self.name_lower}_from_enum"
