"""Cutting the migrations Django planned: a value added is used only in the next migration
(PostgreSQL refuses a new value inside the transaction that added it), and each operation whose
work can run online (a value removal's type swap, a column's conversion between a character
type and an enum type) gets a non-atomic migration of its own: under ``ENUM_SWAP=auto`` it runs
online on a big table only there, so the migrations makemigrations writes need no editing."""

from __future__ import annotations

from django.db.migrations import Migration

from ..conversion import EnumConversion
from ..operations import AddEnumValue, RemoveEnumValue
from .dependencies import ENUM_VALUE_ADDED


def split_new_value_uses(migration: Migration) -> list[Migration]:
    """``[migration]``, or two migrations when it would add a value and use it."""
    operations = migration.operations
    added = {(op.name, op.value) for op in operations if isinstance(op, AddEnumValue)}
    users = {
        id(op)
        for op in operations
        if any(
            dep.type == ENUM_VALUE_ADDED and (dep.model_name, dep.field_name) in added
            # Django keeps what add_operation() was given there, and nowhere public.
            for dep in getattr(op, "_auto_deps", ())
        )
    }
    if not users:
        return [migration]
    last_add = max(i for i, op in enumerate(operations) if isinstance(op, AddEnumValue))
    first_ops = [op for op in operations[: last_add + 1] if id(op) not in users]
    taken = {id(op) for op in first_ops}
    first = _part(migration, "values", first_ops)
    first.initial = migration.initial
    migration.operations = [op for op in operations if id(op) not in taken]
    return [first, migration]


def online_capable_on_their_own(migration: Migration) -> list[Migration]:
    """Each operation whose work can run online in a non-atomic migration of its own (SPEC
    §4a/§4b); the other operations keep their order and their transaction around it.

    What an online operation needs from the same change (the type a conversion converts to)
    lands in an earlier part, what comes after it (the type dropped once no field uses it) in a
    later one. The last part is ``migration`` itself, so that what depends on it still depends
    on all; only the first part keeps ``initial``.
    """
    groups: list[list] = []
    for operation in migration.operations:
        if _runs_online(operation) or not groups or _is_online_part(groups[-1]):
            groups.append([operation])
        else:
            groups[-1].append(operation)
    if not any(_is_online_part(group) for group in groups):
        return [migration]
    parts = []
    for number, group in enumerate(groups[:-1], start=1):
        part = _part(migration, str(number), group)
        part.initial = migration.initial and number == 1
        part.atomic = not _is_online_part(group)
        parts.append(part)
    migration.operations = groups[-1]
    migration.initial = migration.initial and not parts
    migration.atomic = not _is_online_part(groups[-1])
    return [*parts, migration]


def _part(migration: Migration, suffix: str, operations: list) -> Migration:
    """A migration cut from ``migration``, before it and with the same dependencies."""
    part = Migration(f"{migration.name}_{suffix}", migration.app_label)
    part.operations = operations
    part.dependencies = list(migration.dependencies)
    return part


def _runs_online(operation) -> bool:
    """Whether ``operation``'s work can run beside live traffic, which it does only outside a
    transaction: a value removal's type swap, a column's conversion to or from an enum type."""
    return isinstance(operation, (RemoveEnumValue, EnumConversion))


def _is_online_part(operations: list) -> bool:
    return len(operations) == 1 and _runs_online(operations[0])
