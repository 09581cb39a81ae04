"""The fields on either side of a conversion: whether an ``AlterField`` is one, and the column's
field right after it.

A conversion moves a column between a character type and an enum type with nothing else of
its shape changing: a ``CharField``/``TextField`` and an ``EnumField``, or arrays of them
nested alike. Any other ``AlterField`` touching an ``EnumField`` is Django's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models

from ..fields import EnumField, base_enum_field


def is_conversion(old_field, new_field) -> bool:
    """Whether altering ``old_field`` into ``new_field`` moves it into or out of an enum type."""
    old_enum, new_enum = base_enum_field(old_field), base_enum_field(new_field)
    if (old_enum is None) == (new_enum is None):
        return False
    char = old_field if new_enum is not None else new_field
    enum = new_field if new_enum is not None else old_field
    return _shape(char, _is_character) == enum_shape(enum)


def enum_shape(model_field) -> tuple[str, ...] | None:
    """``("scalar",)`` for an ``EnumField``, ``("array", …)`` for arrays of one; else None."""
    return _shape(model_field, lambda inner: isinstance(inner, EnumField))


def _is_character(model_field) -> bool:
    # An EnumField is a CharField to Django, never a character column to us.
    return isinstance(model_field, models.CharField | models.TextField) and not isinstance(
        model_field, EnumField)


def _shape(model_field, is_base: Callable[[models.Field], bool]) -> tuple[str, ...] | None:
    """``("scalar",)`` when ``is_base(model_field)``, ``("array", …)`` for arrays of such a
    field, nested alike; else None."""
    if is_base(model_field):
        return ("scalar",)
    base = getattr(model_field, "base_field", None)
    if base is not None:
        inner = _shape(base, is_base)
        return ("array", *inner) if inner else None
    return None


def intermediate_field(old_field, new_field):
    """``old_field`` with ``new_field``'s column type: what the column is right after the
    conversion, before Django applies any other change of the same ``AlterField``."""
    base_old = innermost(old_field)
    base_new = innermost(new_field)
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


def innermost(model_field):
    """The field at the bottom of any arrays around ``model_field``."""
    while getattr(model_field, "base_field", None) is not None:
        model_field = model_field.base_field
    return model_field


def _rewrap(outer, base):
    if getattr(outer, "base_field", None) is None:
        return base
    _name, _path, args, kwargs = outer.deconstruct()
    kwargs["base_field"] = _rewrap(outer.base_field, base)
    return outer.__class__(*args, **kwargs)
