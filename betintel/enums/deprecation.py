"""Deprecations recorded in the database, in the enum type's ``COMMENT`` (``pg_dump`` keeps it).

The comment holds ``{"betintel": {"deprecated": {"<value>": "<replacement or null>"}}}``. A
comment the type already had is kept: other JSON keys stay as they are, and free text moves
under ``"comment"`` while we have something to record, and comes back unchanged afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from . import introspection, locks
from . import sql as enum_sql
from .introspection import COMMENT_KEY

#: Where a free-text comment waits while the type's comment holds our JSON record.
FREE_TEXT_KEY = "comment"

Deprecations = dict[str, str | None]


def record_deprecation(
    schema_editor, type_name: str, value: str, replacement: str | None = None
) -> None:
    """Record ``value`` of ``type_name`` as deprecated, its rows to move to ``replacement``."""

    def change(deprecated: Deprecations) -> Deprecations:
        deprecated[value] = replacement
        return deprecated

    rewrite_comment(schema_editor, type_name, change)


def clear_deprecation(schema_editor, type_name: str, value: str) -> None:
    """Forget a recorded deprecation of ``value``; the rest of the comment stays."""

    def change(deprecated: Deprecations) -> Deprecations:
        deprecated.pop(value, None)
        return deprecated

    rewrite_comment(schema_editor, type_name, change)


def rewrite_comment(
    schema_editor, type_name: str, change: Callable[[Deprecations], Deprecations]
) -> None:
    """Apply ``change`` to the deprecations recorded on ``type_name``; write only if they differ.

    The type is the one its columns use (``introspection.enum_type``), named with its schema.
    """
    existing = introspection.enum_type(schema_editor.connection, type_name)
    current = existing.comment if existing is not None else None
    # sqlmigrate shows the statement as written in the migration, without a schema.
    target = existing.qualified if existing and not schema_editor.collect_sql else type_name
    new = comment_with(current, change(introspection.recorded_deprecations(current)))
    if new != current or schema_editor.collect_sql:
        locks.run_locked(
            schema_editor,
            enum_sql.comment_on_type(target, new),
            f"recording deprecations on enum type {type_name}",
            type_name=target,
        )


def current_comment(connection, type_name: str) -> str | None:
    """The comment on ``type_name`` now, or None (no comment, or no such type yet)."""
    existing = introspection.enum_type(connection, type_name)
    return existing.comment if existing is not None else None


def comment_with(comment: str | None, deprecated: Deprecations) -> str | None:
    """``comment`` with our record replaced by ``deprecated``; other content is preserved."""
    parsed = introspection.parse_comment(comment)
    if comment and not parsed:
        parsed = {FREE_TEXT_KEY: comment}  # free text: keep it beside our record
    record = dict(parsed.get(COMMENT_KEY) or {})
    if deprecated:
        record["deprecated"] = dict(sorted(deprecated.items()))
    else:
        record.pop("deprecated", None)
    if record:
        parsed[COMMENT_KEY] = record
    else:
        parsed.pop(COMMENT_KEY, None)
    if not parsed:
        return None
    if set(parsed) == {FREE_TEXT_KEY} and isinstance(parsed[FREE_TEXT_KEY], str):
        return parsed[FREE_TEXT_KEY]  # nothing of ours left: give the text back as it was
    return json.dumps(parsed, ensure_ascii=False, sort_keys=True)


def deprecations_renamed(deprecated: Deprecations, old: str, new: str) -> Deprecations:
    """``deprecated`` after value ``old`` was renamed to ``new`` (as a key or a replacement).

    Migration state and the database record both follow renames through this, so they agree.
    """
    return {
        (new if key == old else key): (new if repl == old else repl)
        for key, repl in deprecated.items()
    }


def deprecations_without(
    deprecated: Deprecations, value: str, replacement: str | None
) -> Deprecations:
    """``deprecated`` after ``value`` left the type: its entry goes, and replacements pointing
    at it move to ``replacement``, the value its rows moved to."""
    return {
        key: (replacement if repl == value else repl)
        for key, repl in deprecated.items()
        if key != value
    }


def comment_without_value(comment: str | None, value: str, replacement: str | None) -> str | None:
    """``comment`` after ``value`` left the type (see ``deprecations_without``)."""
    recorded = introspection.recorded_deprecations(comment)
    return comment_with(comment, deprecations_without(recorded, value, replacement))


def comment_renamed(comment: str | None, old: str, new: str) -> str | None:
    """``comment`` after value ``old`` was renamed to ``new``."""
    recorded = introspection.recorded_deprecations(comment)
    return comment_with(comment, deprecations_renamed(recorded, old, new))
