"""Native PostgreSQL enum types for Django ``TextChoices``, evolved by safe migrations.

The public API, named in ``__all__`` (other apps import only these, or the ``__all__`` of the
public modules ``signals``, ``operations``, ``admin`` and ``errors``):

- declaring: ``EnumField``, ``deprecated``, ``flagged``, ``exhaustive``;
- reading a choices class: ``describe`` -> ``ChoicesDescription`` of ``Member``\\ s, each in a
  ``MemberState``; ``feature_flags()``, the flags on now; ``Refusal``, why a write is refused;
- listening: ``EnumAction``, the actions of ``signals.enum_changed``;
- errors: ``EnumMigrationError``, ``RefusedChange``, ``LockNotAcquired``.

``betintel.enums.admin`` is not imported here: it needs the app registry ready.
"""

from __future__ import annotations

from .choices import ChoicesDescription, Member, MemberState, describe
from .conf import feature_flags
from .errors import EnumMigrationError, LockNotAcquired, RefusedChange
from .exhaustive import exhaustive
from .fields import EnumField
from .markers import deprecated, flagged
from .signals import EnumAction
from .validation import Refusal

__all__ = [
    "ChoicesDescription",
    "EnumAction",
    "EnumField",
    "EnumMigrationError",
    "LockNotAcquired",
    "Member",
    "MemberState",
    "RefusedChange",
    "Refusal",
    "describe",
    "deprecated",
    "exhaustive",
    "feature_flags",
    "flagged",
]
