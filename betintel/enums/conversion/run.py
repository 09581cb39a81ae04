"""Carrying a planned conversion out: in place, or online beside live traffic.

``run_conversion`` checks the plan against the rows (``refusals.py``), then runs it as
``conversion_strategy`` chooses. In place, one ``ALTER TABLE … ALTER COLUMN … TYPE … USING``
under the lock budget of ``locks.py``, in a savepoint, so a failure leaves the table as it
was; a refusal PostgreSQL raises there (a value written since the check, a dependent it
cannot carry) becomes a ``RefusedChange`` saying what to do. Online, the online swap's
machinery (``online.choose_conversion``, ``online.convert``) does it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, transaction

from .. import locks
from .. import sql as enum_sql
from ..errors import RefusedChange, sqlstate
from .plan import ColumnConversion
from .refusals import refuse_if_unconvertible

#: SQLSTATEs of values the new type refuses: "invalid input value for enum", "value too long".
VALUE_REFUSED = {"22P02", "22001"}
#: SQLSTATEs of dependents PostgreSQL cannot carry through ``ALTER COLUMN … TYPE``: a view or
#: rule (feature_not_supported), an operator class or an expression that no longer fits the
#: new type (datatype_mismatch, undefined_function, undefined_object).
DEPENDENT_REFUSED = {"0A000", "42804", "42883", "42704"}

Converter = Callable[[object, ColumnConversion], None]


def conversion_strategy(schema_editor, plan: ColumnConversion) -> Converter:
    """How ``plan`` is carried out: online (``online.choose_conversion``) or in place."""
    from .. import online

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
    """What the in-place conversion runs: drop the dependents, the ``ALTER``, make them again."""
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
