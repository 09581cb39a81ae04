"""The write rules of SPEC §3: unknown, deprecated and flag-off values are refused for new writes.

Model validation (``EnumField.validate``), forms and the admin (``forms.EnumFormField``) all
refuse through :func:`invalid_value`, which logs the refusal at WARNING and announces it with
``signals.invalid_enum_value`` (the audit app records it). A value an existing row already holds
is not a new write: saving the row again with it unchanged stays allowed, also when the code
does not know it (a newer release added it during a rolling deploy).
"""

from __future__ import annotations

import logging
from enum import StrEnum

from django.core.exceptions import FieldError, ValidationError

from .conf import feature_flags
from .signals import invalid_enum_value

logger = logging.getLogger(__name__)


class Refusal(StrEnum):
    """Why a new write of a value is refused; sent as ``reason`` with ``invalid_enum_value``."""

    UNKNOWN = "unknown"
    DEPRECATED = "deprecated"
    FLAG_OFF = "flag_off"


def unknown_label(value: object) -> str:
    """How pages show a stored value the code does not know (a newer release added it)."""
    return f"{value} (unknown value)"


def member_refusal(
    deprecated: bool, flag: str | None, flags: frozenset[str] | None = None
) -> Refusal | None:
    """Why a new write of a member in this state is refused, or None.

    The one rule behind validation, forms, the API and demo data: deprecated members are
    refused, and flagged ones while their flag is not among ``flags`` (default: those on now).
    """
    if deprecated:
        return Refusal.DEPRECATED
    if flag is not None and flag not in (feature_flags() if flags is None else flags):
        return Refusal.FLAG_OFF
    return None


def refusal_reason(field, value: str) -> Refusal | None:
    """Why a new write of ``value`` to ``field`` is refused, or None."""
    if value not in field.enum_values:
        return Refusal.UNKNOWN
    return member_refusal(value in field.enum_deprecated, field.enum_flags.get(value))


def writable_values(field) -> list[str]:
    """The values of ``field`` a new write may use right now, in code order."""
    return [value for value in field.enum_values if refusal_reason(field, value) is None]


def holds_unchanged(field, value: str, instance) -> bool:
    """Whether the saved row behind ``instance`` already holds ``value`` in ``field``."""
    if instance is None or instance._state.adding or instance.pk is None or field.model is None:
        return False
    manager = type(instance)._base_manager.db_manager(instance._state.db)
    try:
        stored = (
            manager.filter(pk=instance.pk).values_list(field.attname, flat=True).first()
        )
    except FieldError:
        return False
    if isinstance(stored, list):  # the field is an ArrayField's base
        return value in stored
    return stored == value


def invalid_value(field, value: object, reason: str) -> ValidationError:
    """Log and announce a refused write; return the ``ValidationError`` to raise."""
    model = field.model._meta.label if getattr(field, "model", None) is not None else None
    logger.warning(
        "Invalid %s '%s' refused (%s) on %s, enum type %s: %s",
        field.name,
        value,
        reason,
        model,
        field.enum_type_name,
        _explain(field, value, reason),
    )
    invalid_enum_value.send(
        sender=field.model if model is not None else type(field),
        model=model,
        field=field.name,
        value=str(value),
        reason=reason,
        type_name=field.enum_type_name,
    )
    return ValidationError(
        "Invalid %(field)s '%(value)s': %(why)s",
        code="invalid_enum_value",
        params={"field": field.name, "value": value, "why": _explain(field, value, reason)},
    )


def _explain(field, value: object, reason: str) -> str:
    if reason == Refusal.DEPRECATED:
        replacement = field.enum_deprecated.get(value)
        instead = f"use '{replacement}' instead" if replacement else "choose another value"
        return f"it is deprecated; {instead}."
    if reason == Refusal.FLAG_OFF:
        return (
            f"it needs the feature flag {field.enum_flags.get(value)}, which is off "
            "(FEATURE_FLAGS)."
        )
    allowed = ", ".join(writable_values(field)) or "none"
    return f"it is not a value of {field.enum_type_name}; use one of: {allowed}."
