"""One description of a choices class: each member's value, label, deprecation and flag.

Everything that reads a ``TextChoices`` class the engine manages goes through
:func:`describe`: the field (its values and deprecations), the checks, the ``exhaustive``
registry, the status report and the API, and the domain apps (demo data). A member's lifecycle
state is one of :class:`MemberState`; the rule deciding whether a new write may use it is
``validation.member_refusal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .validation import member_refusal

__all__ = ["ChoicesDescription", "Member", "MemberState", "choices_path", "describe"]


class MemberState(StrEnum):
    """The state of a value, as the report, the API and the admin show it."""

    ACTIVE = "active"
    FLAGGED = "flagged"
    DEPRECATED = "deprecated"
    #: A value the database (or a stored row) has and the code does not know.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Member:
    """One value of an enum type as the code declares it."""

    value: str
    label: str
    deprecated: bool = False
    replacement: str | None = None
    flag: str | None = None
    #: The member's Python name in its choices class (None for values known from migrations).
    name: str | None = None

    @property
    def state(self) -> MemberState:
        """Deprecated, flagged (whether the flag is on or not) or active."""
        if self.deprecated:
            return MemberState.DEPRECATED
        return MemberState.FLAGGED if self.flag else MemberState.ACTIVE

    def refusal(self, flags: frozenset[str] | None = None) -> str | None:
        """Why a new write of this value is refused while ``flags`` are on, or None."""
        return member_refusal(self.deprecated, self.flag, flags)

    def writable(self, flags: frozenset[str] | None = None) -> bool:
        """Whether new writes may use this value while ``flags`` (default: those on now) are on."""
        return self.refusal(flags) is None


class Members:
    """Values and deprecations read from ``members``: one reading for a choices class and for
    a type as fields declare it (``declared.DeclaredType``)."""

    members: Sequence[Member]

    @property
    def values(self) -> list[str]:
        """Every value, in declaration order (the order of the enum type)."""
        return [member.value for member in self.members]

    @property
    def deprecated(self) -> dict[str, str | None]:
        """``{value: replacement or None}`` of the deprecated members."""
        return {member.value: member.replacement for member in self.members if member.deprecated}

    def member(self, value: str) -> Member | None:
        """The member whose value is ``value``, or None."""
        return next((member for member in self.members if member.value == value), None)


@dataclass(frozen=True)
class ChoicesDescription(Members):
    """The members of one choices class, in declaration order."""

    choices_class: type
    members: tuple[Member, ...]

    @property
    def path(self) -> str:
        """How reports and checks name the class: ``bets.models.BetType``."""
        return choices_path(self.choices_class)

    @property
    def flags(self) -> dict[str, str]:
        """``{value: feature flag}`` of the flagged members."""
        return {member.value: member.flag for member in self.members if member.flag is not None}

    def writable(self, flags: frozenset[str] | None = None) -> list[Member]:
        """The members new writes may use while ``flags`` (default: those on now) are on."""
        return [member for member in self.members if member.writable(flags)]


def describe(choices_class: type) -> ChoicesDescription:
    """Read ``choices_class``: its members with the state ``deprecated()``/``flagged()`` gave.

    The blank choice (``__empty__``, value None) is no member of the type and is left out.
    """
    members = tuple(
        Member(
            value=member.value,
            label=str(member.label),
            deprecated=bool(getattr(member.label, "deprecated", False)),
            replacement=getattr(member.label, "replacement", None),
            flag=getattr(member.label, "flag", None),
            name=member.name,
        )
        for member in choices_class
        if member.value is not None
    )
    return ChoicesDescription(choices_class, members)


def choices_path(choices_class: type) -> str:
    """``bets.models.BetType``: how reports and checks name a choices class."""
    return f"{choices_class.__module__}.{choices_class.__qualname__}"
