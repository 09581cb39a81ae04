"""Migration operations for PostgreSQL enum types (SPEC §4).

Each operation quotes names and labels through psycopg, shows its SQL in ``sqlmigrate``, keeps
migration state exact (enum state lives in the ``EnumField``\\ s, see ``state.py``), is skipped on
other databases and where a router forbids it, and announces what it did through
``signals.enum_changed``: once per direction applied.

Before changing anything each operation looks in the catalog and refuses, with a message saying
what to do, what PostgreSQL would refuse less clearly (a missing type, an unknown value, a label
over 63 bytes). Under ``sqlmigrate`` (``collect_sql``) those look-ups are skipped.

- ``base``: ``EnumOperation``, what they all share (guard, catalog look-ups, announcement,
  ``deconstruct``), and the label checks;
- ``types``: ``CreateEnumType`` and ``DropEnumType``, a whole type;
- ``values``: ``AddEnumValue`` and ``RenameEnumValue``, one value;
- ``lifecycle``: ``DeprecateEnumValue`` and ``RemoveEnumValue``, the end of a value's life.
"""

from __future__ import annotations

from .base import EnumOperation
from .lifecycle import DeprecateEnumValue, RemoveEnumValue
from .types import CreateEnumType, DropEnumType
from .values import AddEnumValue, RenameEnumValue

__all__ = [
    "AddEnumValue",
    "CreateEnumType",
    "DeprecateEnumValue",
    "DropEnumType",
    "EnumOperation",
    "RemoveEnumValue",
    "RenameEnumValue",
]
