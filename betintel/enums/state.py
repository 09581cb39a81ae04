"""Enum types as migration state holds them: derived from the ``EnumField``\\ s of the models.

``state_types`` gives them as ``declared.DeclaredType``\\ s (``introspection.enum_types``
gives those the database has).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .declared import DeclaredType, declared_type
from .fields import EnumField, base_enum_field


def enum_fields(state, managed_only: bool = False) -> Iterator[tuple[str, str, str, EnumField]]:
    """``(app_label, model_name, field_name, field)`` for every enum field, arrays included
    (with ``managed_only``, only those of managed models)."""
    for (app_label, model_name), model_state in sorted(state.models.items()):
        if managed_only and not model_state.options.get("managed", True):
            continue
        for field_name, model_field in model_state.fields.items():
            enum_field = base_enum_field(model_field)
            if enum_field is not None:
                yield app_label, model_name, field_name, enum_field


def state_types(state, managed_only: bool = False) -> dict[str, DeclaredType]:
    """Every enum type the models of ``state`` use (or only its managed models), by name."""
    types: dict[str, DeclaredType] = {}
    for app_label, model_name, field_name, enum_field in enum_fields(state, managed_only):
        entry = types.setdefault(enum_field.enum_type_name, declared_type(enum_field))
        entry.fields.append((app_label, model_name, field_name))
    return types


def alter_enum_fields(
    state,
    type_name: str,
    change: Callable[[list[str], dict[str, str | None]], tuple[list[str], dict]],
) -> None:
    """Rewrite every field of ``type_name`` in ``state`` with ``change(values, deprecated)``."""
    for app_label, model_name, field_name, enum_field in list(enum_fields(state)):
        if enum_field.enum_type_name != type_name:
            continue
        values, deprecated = change(list(enum_field.enum_values), dict(enum_field.enum_deprecated))
        model_state = state.models[app_label, model_name]
        outer = model_state.fields[field_name]
        replaced = _replace_base(outer, enum_field.with_enum_state(values, deprecated))
        state.alter_field(app_label, model_name, field_name, replaced, preserve_default=True)


def _replace_base(outer, new_enum_field: EnumField):
    """``outer`` with its ``EnumField`` swapped for ``new_enum_field`` (through ArrayFields)."""
    if isinstance(outer, EnumField):
        return new_enum_field
    name, path, args, kwargs = outer.deconstruct()
    kwargs["base_field"] = _replace_base(outer.base_field, new_enum_field)
    return outer.__class__(*args, **kwargs)
