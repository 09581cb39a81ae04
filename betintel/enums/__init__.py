"""Native PostgreSQL enum types for Django ``TextChoices``, evolved by safe migrations."""

from __future__ import annotations

from .exhaustive import exhaustive
from .fields import EnumField
from .markers import deprecated, flagged

__all__ = ["EnumField", "deprecated", "exhaustive", "flagged"]
