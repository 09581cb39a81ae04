"""``exhaustive(ChoicesClass, {...})``: a mapping that must cover every non-deprecated member."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from .choices import describe

V = TypeVar("V")


@dataclass(frozen=True)
class ExhaustiveMapping:
    """One declared mapping, kept so the ``enums`` system check can verify its coverage."""

    choices_class: type
    keys: frozenset[str]
    where: str

    def missing(self) -> list[str]:
        """Values of non-deprecated members the mapping does not cover, in member order."""
        return [
            member.value
            for member in describe(self.choices_class).members
            if not member.deprecated and member.value not in self.keys
        ]

    def unknown(self) -> list[str]:
        """Keys of the mapping that are no value of the choices class (stale entries)."""
        values = set(describe(self.choices_class).values)
        return sorted(key for key in self.keys if key not in values)


#: Every declared mapping, by where it is declared (a re-run declaration replaces its entry).
registry: dict[tuple[str, type], ExhaustiveMapping] = {}


def exhaustive(choices_class: type, mapping: Mapping[object, V]) -> dict[str, V]:
    """Return ``mapping`` keyed by plain values, registered for the exhaustiveness check.

    Code that branches on an enum declares its table with this, so that a value added to the
    enum later is reported by ``manage.py check`` until the table handles it.
    """
    caller = sys._getframe(1)
    keys = {str(getattr(key, "value", key)): value for key, value in mapping.items()}
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    registry[where, choices_class] = ExhaustiveMapping(choices_class, frozenset(keys), where)
    return keys
