"""What the engine announces; other apps (audit) listen. The engine imports none of them."""

from __future__ import annotations

from contextvars import ContextVar

from django.dispatch import Signal

#: Sent after an enum operation changed the database. Keyword arguments: ``action``
#: (``type_created``, ``type_dropped``, ``value_added``, ``value_renamed``,
#: ``value_deprecated``, ``value_undeprecated``, ``value_removed``), ``type_name``,
#: ``value`` (or None), ``details`` (dict, includes ``operation``, ``direction``,
#: ``migration``) and ``using`` (database alias).
enum_changed = Signal()

#: Sent when a write of an unknown, deprecated or flag-off value was refused. Keyword
#: arguments: ``model`` (label), ``field``, ``value``, ``reason`` and ``type_name``.
invalid_enum_value = Signal()

#: ``app_label.migration_name`` being applied or unapplied by ``migrate``, if any.
current_migration: ContextVar[str | None] = ContextVar("current_migration", default=None)
