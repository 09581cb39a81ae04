"""Native PostgreSQL enum types for Django ``TextChoices``, evolved by safe migrations."""

from __future__ import annotations

from .choices import ChoicesDescription, Member, MemberState, describe
from .conf import feature_flags
from .exhaustive import exhaustive
from .fields import EnumField
from .markers import deprecated, flagged
from .signals import EnumAction
from .validation import Refusal

__all__ = [
    "ChoicesDescription",
    "EnumAction",
    "EnumField",
    "Member",
    "MemberState",
    "Refusal",
    "deprecated",
    "describe",
    "exhaustive",
    "feature_flags",
    "flagged",
]
