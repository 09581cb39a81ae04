"""What makes a type swap refuse before anything changes (SPEC §4).

The swap refuses, with nothing changed, when a replacement is not another value of the type,
when an object it cannot rebuild (a view, a domain, a function) uses the type, when a
definition it would put back (a default, an index, a constraint) names the value, and when
rows hold the value and no replacement is given. Each refusal is a ``RefusedChange`` whose
message names what stopped the swap and says what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import sql as enum_sql
from ..errors import RefusedChange

if TYPE_CHECKING:
    from ..introspection import Dependents, EnumType
    from .plan import SwapPlan


def check_replacement(existing: EnumType, value: str, replacement: str | None) -> None:
    """Refuse a ``replacement`` that is ``value`` itself or not a value of the type."""
    if replacement is None:
        return
    if replacement == value:
        raise RefusedChange(
            f"Value {value!r} of enum type {existing.name} cannot replace itself. Name another "
            "value of the type as its replacement."
        )
    if replacement not in existing.values:
        raise RefusedChange(
            f"Replacement {replacement!r} is not a value of enum type {existing.name} (it has "
            f"{list(existing.values)}), so rows holding {value!r} cannot move to it. Nothing "
            "was changed. Add the replacement first (AddEnumValue in an earlier migration) or "
            "name an existing value."
        )


def refuse_blockers(existing: EnumType, value: str, dependents: Dependents) -> None:
    """Refuse when objects the swap cannot rebuild (views, domains, functions) use the type."""
    if dependents.blockers:
        raise RefusedChange(
            f"Value {value!r} cannot be removed from enum type {existing.name}: it is used by "
            f"{', '.join(dependents.blockers)}, which a type swap cannot rebuild. Nothing was "
            "changed. Drop those objects in a migration before this one and create them again "
            "in one after it."
        )


def names_value(definition: str, value: str) -> bool:
    """Whether a deparsed definition holds ``value`` as a constant (``'value'::type``)."""
    return "'" + value.replace("'", "''") + "'::" in definition


def refuse_if_named(definition: str, what: str, type_name: str, value: str) -> None:
    """Refuse when ``definition`` (of ``what``) names ``value``: put back, it would fail."""
    if names_value(definition, value):
        raise RefusedChange(
            f"The {what} names value {value!r} of enum type {type_name} ({definition}), so the "
            "value cannot be removed: the definition would no longer be valid. Nothing was "
            f"changed. Change or drop the {what} in an earlier migration so it no longer names "
            f"{value!r}, then remove the value."
        )


def refuse_if_rows_hold(connection, plan: SwapPlan, advice: str | None) -> None:
    """Refuse, naming the row count per column, when rows hold the value and nothing replaces it.

    ``advice`` replaces the default "what to do next" of the message.
    """
    held = []
    with connection.cursor() as cursor:
        for table in plan.tables:
            if not table.columns:
                continue
            columns = [(column.name, column.array) for column in table.columns]
            query = enum_sql.count_holding(table.table.identifier, columns, plan.value)
            cursor.execute(enum_sql.render(query, connection))
            counts = cursor.fetchone()
            held += [
                f"{table.table}.{column.name}: {count} row{'s' if count != 1 else ''}"
                for column, count in zip(table.columns, counts, strict=True)
                if count
            ]
    if held:
        advice = advice or (
            "Give a replacement (RemoveEnumValue(..., replacement=...), or "
            "deprecated(label, replacement=...) in the code) so those rows move to it, or move "
            "them to another value in a data migration first."
        )
        raise RefusedChange(
            f"Value {plan.value!r} of enum type {plan.type_name} is still held by rows "
            f"({'; '.join(held)}), so it was not removed and nothing was changed. {advice}"
        )
