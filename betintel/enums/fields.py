"""``EnumField``: a model field stored in a native PostgreSQL enum type."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from django.db import models

from .markers import member_state
from .validation import UNKNOWN, holds_unchanged, invalid_value, refusal_reason

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
            states = {
                member.value: member_state(member.label)
                for member in choices_class
                if member.value is not None
            }
            values = list(states)
            deprecated = {value: repl for value, (dep, repl, _flag) in states.items() if dep}
            flags = {
                value: flag for value, (_dep, _repl, flag) in states.items() if flag is not None
            }
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
            if reason is not None and not (
                reason != UNKNOWN and holds_unchanged(self, raw, model_instance)
            ):
                raise invalid_value(self, raw, reason)
        super().validate(value, model_instance)

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


def choices_path(choices_class: type) -> str:
    """``bets.models.BetType``: how reports and checks name a choices class."""
    return f"{choices_class.__module__}.{choices_class.__qualname__}"
