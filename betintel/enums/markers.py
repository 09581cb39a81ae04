"""Markers put on a ``TextChoices`` member's label: ``deprecated(...)`` and ``flagged(...)``.

``choices.describe`` reads them back, for every part of the engine and the domain apps.
"""

from __future__ import annotations

from django.utils.functional import Promise


class EnumLabel(str):
    """A member's label that also carries its lifecycle state.

    A ``str`` subclass, so Django's ``ChoicesType`` keeps it as the member's label unchanged and
    everything that displays labels keeps working.
    """

    deprecated: bool = False
    replacement: str | None = None
    flag: str | None = None

    def __new__(cls, label: str | Promise, **state: object) -> EnumLabel:
        self = super().__new__(cls, str(label))
        for key, value in state.items():
            setattr(self, key, value)
        return self

    def __reduce__(self):
        return (_rebuild, (str(self), self.deprecated, self.replacement, self.flag))


def _rebuild(label: str, is_deprecated: bool, replacement: str | None, flag: str | None):
    return EnumLabel(label, deprecated=is_deprecated, replacement=replacement, flag=flag)


def deprecated(label: str | Promise, replacement: str | None = None) -> EnumLabel:
    """Mark a member deprecated: readable, refused for new writes; rows move to ``replacement``."""
    if replacement is not None:
        replacement = str(getattr(replacement, "value", replacement))
    return EnumLabel(label, deprecated=True, replacement=replacement)


def flagged(label: str | Promise, *, flag: str) -> EnumLabel:
    """Mark a member writable only while feature flag ``flag`` is on (``FEATURE_FLAGS``).

    An empty ``flag`` is reported by the ``enums.E009`` system check rather than raised here,
    so ``manage.py check`` lists it beside every other problem.
    """
    return EnumLabel(label, flag=str(flag or "").strip())

