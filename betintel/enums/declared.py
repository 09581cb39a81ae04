"""An enum type as the code declares it: its members and the fields using it.

The models (``report.code_types``) and migration state (``state.state_types``) both declare
types through their ``EnumField``\\ s; either way a type is one ``DeclaredType``, whose values
and deprecations come from its members (``choices.Member``), so the two cannot disagree about
what a field declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .choices import Member, Members, describe


@dataclass
class DeclaredType(Members):
    """One enum type as fields declare it: its members, and where it is declared."""

    name: str
    members: list[Member]
    #: The choices class declaring it (``bets.models.BetType``); None for a field rebuilt from
    #: migrations, which knows values and deprecations only.
    choices: str | None = None
    #: ``(app label, model name, field name)`` of each field using the type, the model named as
    #: its source names it (``Bet`` for an installed model, ``bet`` in migration state).
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    #: Other choices classes declaring the same type (a mistake the report warns about).
    other_choices: list[str] = field(default_factory=list)

    @property
    def field_labels(self) -> list[str]:
        """The fields using the type, as people read them: ``bets.Bet.kind``."""
        return [".".join(ref) for ref in self.fields]


def declared_type(enum_field) -> DeclaredType:
    """The type ``enum_field`` declares (no fields listed yet): from its choices class when it
    has one, else from the values and deprecations it was built with."""
    choices_class = enum_field.choices_class
    if choices_class is not None:
        described = describe(choices_class)
        return DeclaredType(enum_field.enum_type_name, list(described.members), described.path)
    deprecated = enum_field.enum_deprecated
    members = [
        Member(value, value, value in deprecated, deprecated.get(value))
        for value in enum_field.enum_values
    ]
    return DeclaredType(enum_field.enum_type_name, members)
