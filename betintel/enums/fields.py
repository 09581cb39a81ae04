"""``EnumField``: a model field stored in a native PostgreSQL enum type."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import partialmethod

from django.db import models
from django.db.models import lookups

from .choices import describe
from .introspection.types import guarded_labels
from .validation import Refusal, holds_unchanged, invalid_value, refusal_reason, unknown_label

#: PostgreSQL's limit on a name or an enum label (NAMEDATALEN - 1), in bytes of UTF-8.
MAX_NAME_BYTES = 63


def default_type_name(choices_class: type) -> str:
    """``BetType`` -> ``bet_type_enum``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", choices_class.__name__)
    return f"{snake.lower()}_enum"


class EnumField(models.CharField):
    """A column of a PostgreSQL enum type whose values come from a ``TextChoices`` class.

    In code: ``EnumField(BetType, type_name="bet_type_enum")``. In migrations the field is
    rebuilt from plain data (``type_name``, ``values``, ``deprecated``), so migration files
    never import the choices class and survive changes to it.
    """

    description = "A value of the PostgreSQL enum type %(enum_type_name)s"

    def __init__(
        self,
        choices_class: type[models.TextChoices] | None = None,
        type_name: str | None = None,
        *,
        values: Iterable[str] | None = None,
        deprecated: Mapping[str, str | None] | None = None,
        **kwargs,
    ) -> None:
        if choices_class is not None:
            described = describe(choices_class)
            values, deprecated, flags = described.values, described.deprecated, described.flags
            kwargs.setdefault("choices", choices_class.choices)
            type_name = type_name or default_type_name(choices_class)
        elif type_name is None or values is None:
            raise TypeError(
                "EnumField needs a TextChoices class (EnumField(BetType)), or type_name= and "
                "values= as migrations give them."
            )
        else:
            values = list(values)
            flags = {}
            kwargs.setdefault("choices", [(value, value) for value in values])
        kwargs.pop("max_length", None)
        self.choices_class = choices_class
        self.enum_type_name = type_name
        self.enum_values: list[str] = list(values)
        self.enum_deprecated: dict[str, str | None] = dict(deprecated or {})
        #: ``{value: feature flag}`` of the flagged members (known only from a choices class).
        self.enum_flags: dict[str, str] = flags
        super().__init__(**kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        kwargs.pop("max_length", None)
        if "default" in kwargs:
            # A member as default would make the migration import the choices class.
            kwargs["default"] = getattr(kwargs["default"], "value", kwargs["default"])
        kwargs["type_name"] = self.enum_type_name
        kwargs["values"] = list(self.enum_values)
        if self.enum_deprecated:
            kwargs["deprecated"] = dict(self.enum_deprecated)
        return name, "betintel.enums.EnumField", args, kwargs

    def db_type(self, connection) -> str:
        if connection.vendor != "postgresql":
            return super().db_type(connection)
        return connection.ops.quote_name(self.enum_type_name)

    def rel_db_type(self, connection) -> str:
        return self.db_type(connection)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return getattr(value, "value", value)

    def validate(self, value, model_instance) -> None:
        """Refuse new writes of unknown, deprecated and flag-off values (SPEC §3)."""
        raw = getattr(value, "value", value)
        if raw not in self.empty_values:
            reason = refusal_reason(self, raw)
            if reason is not None:
                if not holds_unchanged(self, raw, model_instance):
                    raise invalid_value(self, raw, reason)
                if reason == Refusal.UNKNOWN:
                    # The row holds a value of a newer release: the database accepted it, and
                    # saving the row unchanged keeps it. It is no choice of this code's.
                    return
        super().validate(value, model_instance)

    def contribute_to_class(self, cls, name, private_only=False) -> None:
        user_defined = f"get_{name}_display" in cls.__dict__
        super().contribute_to_class(cls, name, private_only=private_only)
        display = f"get_{self.name}_display"
        if self.choices is not None and not user_defined:
            # Django's version shows an unknown value bare, as if it were a label.
            setattr(cls, display, partialmethod(_get_enum_display, field=self))

    def display(self, value) -> str:
        """The label of ``value``, or the value marked unknown when the code lacks it."""
        raw = getattr(value, "value", value)
        for key, label in self.flatchoices:
            if key == raw:
                return str(label)
        return unknown_label(raw)

    def formfield(self, **kwargs):
        """A choice of the writable values (plus the one an existing object holds)."""
        from .forms import EnumFormField

        kwargs.setdefault("choices_form_class", EnumFormField)
        form_field = super().formfield(**kwargs)
        if isinstance(form_field, EnumFormField):
            form_field.bind(self)
        return form_field

    def with_enum_state(
        self, values: Iterable[str], deprecated: Mapping[str, str | None]
    ) -> EnumField:
        """A copy of this field (as migration state holds it) with other values/deprecations."""
        name, path, args, kwargs = self.deconstruct()
        kwargs["values"] = list(values)
        kwargs.pop("deprecated", None)
        if deprecated:
            kwargs["deprecated"] = dict(deprecated)
        return EnumField(*args, **kwargs)


def _get_enum_display(instance, field: EnumField) -> str | None:
    value = getattr(instance, field.attname)
    return None if value is None else field.display(value)


def _needs_guard(compiler, connection, field: EnumField, value: object) -> bool:
    """Whether ``value`` may be missing from ``field``'s type, so a literal could fail."""
    if connection.vendor != "postgresql" or not isinstance(value, str):
        return False
    if not compiler.query.alias_cols:
        # Constraints and index conditions (columns without an alias) are DDL: a subquery is
        # not allowed there, and the database must refuse a label outside the type anyway.
        return False
    # Active and flagged values are in the type, and a literal keeps the planner's statistics.
    # Deprecated ones may have been removed already by a newer release.
    return value not in field.enum_values or value in field.enum_deprecated


def _guarded_labels(connection, field: EnumField, values: list[str]) -> tuple[str, list]:
    """``ANY(...)`` of those of ``values`` that are labels of the type, found in the catalog
    when the query runs (a literal outside the type would fail the whole query)."""
    return guarded_labels(connection.ops.quote_name(field.enum_type_name), values)


def _lookup_field(lookup) -> EnumField | None:
    output_field = getattr(lookup.lhs, "output_field", None)
    return output_field if isinstance(output_field, EnumField) else None


class _GuardedValueMixin:
    """Compare with a value outside the enum type as matching nothing, never as an error."""

    def process_rhs(self, compiler, connection):
        sql, params = super().process_rhs(compiler, connection)
        field = _lookup_field(self)
        if (
            field is not None
            and self.rhs_is_direct_value()
            and sql == "%s"
            and len(params) == 1
            and _needs_guard(compiler, connection, field, params[0])
        ):
            return _guarded_labels(connection, field, list(params))
        return sql, params


@EnumField.register_lookup
class EnumExact(_GuardedValueMixin, lookups.Exact):
    """``field=value``: no rows, not an error, when ``value`` is not a label of the type."""


@EnumField.register_lookup
class EnumGreaterThan(_GuardedValueMixin, lookups.GreaterThan):
    """``field__gt=value``, safe for any value."""


@EnumField.register_lookup
class EnumGreaterThanOrEqual(_GuardedValueMixin, lookups.GreaterThanOrEqual):
    """``field__gte=value``, safe for any value."""


@EnumField.register_lookup
class EnumLessThan(_GuardedValueMixin, lookups.LessThan):
    """``field__lt=value``, safe for any value."""


@EnumField.register_lookup
class EnumLessThanOrEqual(_GuardedValueMixin, lookups.LessThanOrEqual):
    """``field__lte=value``, safe for any value."""


@EnumField.register_lookup
class EnumRange(lookups.Range):
    """``field__range=(low, high)``: no rows, not an error, when an end is not a label."""

    def get_prep_lookup(self):
        if self.rhs_is_direct_value() and (isinstance(self.rhs, str) or len(self.rhs) != 2):
            # Raised while the query is built, so the admin answers "invalid filter" (?e=1).
            raise ValueError(
                f"A range of {self.lhs.output_field.name} needs two values, low and high; "
                f"got {self.rhs!r}."
            )
        return super().get_prep_lookup()

    def as_sql(self, compiler, connection):
        field = _lookup_field(self)
        if field is None or not self.rhs_is_direct_value() or not any(
            _needs_guard(compiler, connection, field, value) for value in self.rhs
        ):
            return super().as_sql(compiler, connection)
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        parts, params = [], []
        for operator, value in zip((">=", "<="), self.rhs, strict=True):
            if _needs_guard(compiler, connection, field, value):
                value_sql, value_params = _guarded_labels(connection, field, [value])
            else:
                value_sql, value_params = "%s", [value]
            parts.append(f"{lhs_sql} {operator} {value_sql}")
            params += [*lhs_params, *value_params]
        return f"({' AND '.join(parts)})", params


@EnumField.register_lookup
class EnumIn(lookups.In):
    """``field__in=[...]``: values outside the type match nothing; the others still match."""

    def as_sql(self, compiler, connection):
        field = _lookup_field(self)
        if field is None or not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        values = [value for value in dict.fromkeys(self.rhs) if value is not None]
        guarded = [v for v in values if _needs_guard(compiler, connection, field, v)]
        if not guarded:
            return super().as_sql(compiler, connection)
        known = [value for value in values if value not in guarded]
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        any_sql, any_params = _guarded_labels(connection, field, guarded)
        parts, params = [f"{lhs_sql} = {any_sql}"], [*lhs_params, *any_params]
        if known:
            parts.insert(0, f"{lhs_sql} IN ({', '.join(['%s'] * len(known))})")
            params = [*lhs_params, *known, *params]
        return f"({' OR '.join(parts)})", params


def base_enum_field(model_field) -> EnumField | None:
    """The ``EnumField`` behind ``model_field`` (itself, or an ArrayField's base), or None."""
    while model_field is not None and not isinstance(model_field, EnumField):
        model_field = getattr(model_field, "base_field", None)
    return model_field


def model_enum_fields(models: Iterable) -> Iterator[tuple]:
    """``(model, model field, EnumField)`` of every concrete field of ``models`` backed by an
    enum type (arrays of one included)."""
    for model in models:
        for model_field in model._meta.local_fields:
            enum_field = base_enum_field(model_field)
            if enum_field is not None:
                yield model, model_field, enum_field
