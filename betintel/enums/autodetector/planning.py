"""Planning one enum type's change between two states: the operations, the refusals of unsafe
edits (a value deleted or edited in place, a deprecation undone, fields disagreeing on a type's
values) and the warnings for changes no operation can make (members reordered)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..declared import DeclaredType
from ..operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    DropEnumType,
    EnumOperation,
    RemoveEnumValue,
    RenameEnumValue,
)
from ..state import enum_fields

PROTOCOL = (
    "Enum values are never deleted or edited in place. Follow the protocol: (1) add the new "
    "value and release it; (2) move the rows to it; (3) mark the old member "
    "deprecated(label, replacement=<new value>) and run makemigrations, which writes "
    "DeprecateEnumValue; (4) in a later release delete the member, and makemigrations writes "
    "RemoveEnumValue."
)

Ask = Callable[[str, str, str], bool]


@dataclass
class TypeChange:
    """What makemigrations does for one enum type."""

    name: str
    #: Operations that go before the fields using the type (create, rename, add, deprecate).
    early: list[EnumOperation] = field(default_factory=list)
    #: Operations that go after the type's last use changed (remove a value, drop the type).
    late: list[EnumOperation] = field(default_factory=list)
    #: Values added by ``early``: operations using them wait for the next migration.
    added: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_type_change(old: DeclaredType | None, new: DeclaredType | None, ask: Ask) -> TypeChange:
    """The operations, refusals and warnings for one type between two states."""
    if old is None:
        change = TypeChange(new.name, early=[CreateEnumType(new.name, new.values)])
        change.early += [DeprecateEnumValue(new.name, v, r) for v, r in new.deprecated.items()]
        return change
    if new is None:
        return TypeChange(old.name, late=[DropEnumType(old.name, old.values)])
    change = TypeChange(new.name)
    renamed = _ask_renames(old, new, ask)
    change.early += [RenameEnumValue(new.name, a, b) for a, b in renamed.items()]
    present = [renamed.get(value, value) for value in old.values]
    change.added = [v for v in new.values if v not in present]
    change.early += _positioned_additions(new.name, present, new.values, change.added)
    was_deprecated = {
        renamed.get(value, value): renamed.get(repl, repl) for value, repl in old.deprecated.items()
    }
    for value, replacement in new.deprecated.items():
        if value not in was_deprecated or was_deprecated[value] != replacement:
            change.early.append(DeprecateEnumValue(new.name, value, replacement))
    for value in new.values:
        if value in was_deprecated and value not in new.deprecated:
            change.refusals.append(_undeprecated_message(new.name, value))
    for value in old.values:
        if value not in new.values and value not in renamed:
            _plan_removal(change, old, new, value, was_deprecated)
    kept = [renamed.get(v, v) for v in old.values if renamed.get(v, v) in new.values]
    if kept != [v for v in new.values if v in kept]:
        change.warnings.append(_reorder_message(new.name, kept, new.values))
    return change


def _ask_renames(old: DeclaredType, new: DeclaredType, ask: Ask) -> dict[str, str]:
    """``{old: new}`` for each non-deprecated value gone from the code that the user renamed."""
    gone = [v for v in old.values if v not in new.values and v not in old.deprecated]
    candidates = [v for v in new.values if v not in old.values]
    renamed: dict[str, str] = {}
    for value in gone:
        for candidate in candidates:
            if candidate not in renamed.values() and ask(new.name, value, candidate):
                renamed[value] = candidate
                break
    return renamed


def _positioned_additions(
    name: str, present: list[str], wanted: list[str], added: list[str]
) -> list[AddEnumValue]:
    """``AddEnumValue`` for each added value, placed before its successor in code order."""
    present = list(present)
    operations = []
    for index, value in enumerate(wanted):
        if value not in added:
            continue
        following = [v for v in wanted[index + 1 :] if v in present]
        before = following[0] if following else None
        operations.append(AddEnumValue(name, value, before=before))
        present.insert(present.index(before) if before else len(present), value)
    return operations


def _plan_removal(
    change: TypeChange, old: DeclaredType, new: DeclaredType, value: str, was_deprecated: dict
) -> None:
    if value not in old.deprecated:
        hint = ""
        if change.added:
            hint = (
                f" If {value!r} was edited to {' or '.join(map(repr, change.added))}, run "
                "makemigrations interactively and answer yes to 'Did you rename …?'; that "
                "writes RenameEnumValue."
            )
        change.refusals.append(
            f"Value {value!r} of enum type {change.name} is gone from the code but is not "
            f"deprecated, so makemigrations wrote nothing.{hint} {PROTOCOL}"
        )
        return
    replacement = was_deprecated[value]
    if replacement is not None and replacement not in new.values:
        change.refusals.append(
            f"Value {value!r} of enum type {change.name} is removed and its rows would move to "
            f"{replacement!r}, which is no longer a value of the type. Keep {replacement!r} in "
            f"the code, or first deprecate {value!r} with another replacement."
        )
        return
    change.late.append(RemoveEnumValue(change.name, value, replacement=replacement))


def _undeprecated_message(name: str, value: str) -> str:
    return (
        f"Value {value!r} of enum type {name} is deprecated in the migrations but no longer "
        "marked deprecated(...) in the code, and no operation undoes a released deprecation. "
        f"Mark {value!r} deprecated(...) again; if the deprecation was never released, "
        "unapply and delete the migration that deprecated it instead."
    )


def _reorder_message(name: str, database_order: list[str], code_order: list[str]) -> str:
    return (
        f"Members of enum type {name} are in another order in the code "
        f"({', '.join(code_order)}) than in the migrations ({', '.join(database_order)}). "
        "PostgreSQL cannot reorder enum values in place, so no migration is written for it; "
        "comparisons and ORDER BY on the column keep the migrations' order."
    )


def conflicting_declarations(state, name: str) -> list[str]:
    """A refusal when the fields of ``state`` disagree on the values of type ``name``."""
    declared: dict[tuple, list[str]] = {}
    for app_label, model_name, field_name, enum_field in enum_fields(state):
        if enum_field.enum_type_name == name:
            key = (tuple(enum_field.enum_values), tuple(enum_field.enum_deprecated.items()))
            declared.setdefault(key, []).append(f"{app_label}.{model_name}.{field_name}")
    if len(declared) < 2:
        return []
    described = "; ".join(
        f"{', '.join(users)} with values {list(values)}"
        for (values, _deprecated), users in declared.items()
    )
    return [
        f"Enum type {name} is declared with different values by {described}. One type name "
        "belongs to one choices class: give the other fields their own type_name, or the "
        "same choices class."
    ]
