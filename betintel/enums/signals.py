"""What the engine announces; other apps (audit) listen. The engine imports none of them.

Public: the two signals, the actions ``enum_changed`` is sent with (:class:`EnumAction`) and the
migration being applied (``current_migration``). ``invalid_enum_value``'s ``reason`` is a
``validation.Refusal`` (``unknown``, ``deprecated``, ``flag_off``), re-exported by
``betintel.enums``.
"""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum

from django.dispatch import Signal

__all__ = ["EnumAction", "current_migration", "enum_changed", "invalid_enum_value"]


class EnumAction(StrEnum):
    """What an enum operation did to the database: the ``action`` of ``enum_changed``.

    Plain strings to listeners (a ``StrEnum``), as the README documents them. A listener that
    maps them to records of its own should check that it covers every member, so that an
    action added by a newer engine is reported before ``migrate`` rather than lost.
    """

    TYPE_CREATED = "type_created"
    TYPE_DROPPED = "type_dropped"
    VALUE_ADDED = "value_added"
    VALUE_RENAMED = "value_renamed"
    VALUE_DEPRECATED = "value_deprecated"
    VALUE_UNDEPRECATED = "value_undeprecated"
    VALUE_REMOVED = "value_removed"


#: Sent after an enum operation changed the database. Keyword arguments: ``action`` (an
#: ``EnumAction``), ``type_name``, ``value`` (or None), ``details`` (dict, includes
#: ``operation``, ``direction``, ``migration``) and ``using`` (database alias).
enum_changed = Signal()

#: Sent when a write of an unknown, deprecated or flag-off value was refused. Keyword
#: arguments: ``model`` (label), ``field``, ``value``, ``reason`` (a ``Refusal``) and
#: ``type_name``.
invalid_enum_value = Signal()

#: ``app_label.migration_name`` being applied or unapplied by ``migrate``, if any.
current_migration: ContextVar[str | None] = ContextVar("current_migration", default=None)
