"""The old enum type a swap keeps past its commit, and its drop (SPEC §4, §4a).

Both swaps (the blocking one, ``swap/``, and the online one, ``online/``) replace a type by a
new one that takes its name. A session that named the type before the swap committed and
waits for its lock to ``ALTER TYPE … ADD VALUE`` gets the old type once the swap commits
(PostgreSQL does not look the name up again): its value lands in the old type. So the old type
outlives the swap's transaction, renamed (``betintel_swap_<oid>`` by the blocking swap,
``betintel_old_<oid>`` by the online one) and marked in its comment::

    {"betintel": {"swapped": {"into": <the new type's name>, "values": <its values then>}}}

(the online swap keeps its state beside the marker until the drop, so ``enum_status`` still
reports it under way). ``carry_and_drop`` then takes the old type's lock under the lock budget
(so such a session finishes first), adds every value the old type gained since to the new type,
in the same place among the values both have, and drops the old type without CASCADE.
``finish_old_type`` does that in a transaction of its own and logs a problem instead of raising
it, since the swap is committed: the next ``migrate`` finishes what is left
(``finish_interrupted_swaps``), as it does for old types of processes that ended first.
"""

from __future__ import annotations

import json
import logging

from django.db import DatabaseError, transaction

from . import introspection, locks
from . import sql as enum_sql
from .errors import EnumMigrationError

#: The swaps' logger, which ``migrate`` shows.
logger = logging.getLogger("betintel.enums.swap")

#: Key, in an old type's comment, of what ``carry_and_drop`` needs.
SWAP_KEY = "swapped"
#: How each swap names the old type it keeps (``swap.plan_removal``,
#: ``online.names.old_type_name``).
BLOCKING_PREFIX = "betintel_swap_"
ONLINE_PREFIX = "betintel_old_"


def marker(into: str, values: list[str], beside: dict | None = None) -> str:
    """The comment marking an old type: its successor ``into`` and its ``values`` at the swap;
    ``beside`` adds other records of ours (the online swap's state)."""
    record = {**(beside or {}), SWAP_KEY: {"into": into, "values": list(values)}}
    return json.dumps({introspection.COMMENT_KEY: record}, sort_keys=True)


def swap_marker(comment: str | None) -> dict | None:
    """What an old type's comment records: its successor and its values at the swap."""
    record = introspection.parse_comment(comment).get(introspection.COMMENT_KEY) or {}
    found = record.get(SWAP_KEY) if isinstance(record, dict) else None
    if isinstance(found, dict) and isinstance(found.get("into"), str):
        return {"into": found["into"], "values": list(found.get("values") or [])}
    return None


def carry_and_drop(schema_editor, old_name: str, schema: str | None = None) -> bool:
    """Carry the values the marked old type ``old_name`` gained into its successor, then drop
    it, in the caller's transaction. Returns whether it is gone; errors are raised."""
    connection = schema_editor.connection
    restore_timeout = locks.keep_lock_timeout(connection)
    old = _held(schema_editor, old_name, schema)
    found = swap_marker(old.comment) if old is not None else None
    if found is None:
        return old is None
    new = introspection.enum_type(connection, found["into"], old.schema)
    if new is not None:
        present = list(new.values)
        for value in old.values:
            if value not in found["values"] and value not in present:
                _carry(schema_editor, (old.schema, found["into"]), value, old.values, present)
    enum_sql.execute(schema_editor, enum_sql.drop_type(old.qualified))
    restore_timeout()
    return True


def finish_old_type(connection, old_name: str, schema: str | None = None) -> bool:
    """``carry_and_drop`` in a transaction of its own, after the swap committed: a problem is
    logged, not raised, and the next ``migrate`` finishes it. Returns whether it is gone."""
    try:
        with connection.schema_editor(atomic=False) as editor, \
                transaction.atomic(using=connection.alias):
            return carry_and_drop(editor, old_name, schema)
    except (DatabaseError, EnumMigrationError) as exc:
        logger.warning(
            "The swapped-out enum type %s was left in place (%s); the next migrate drops it.",
            old_name, str(exc).strip().splitlines()[0],
        )
        return False


def finish_interrupted_swaps(connection, into: str | None = None) -> None:
    """Finish the old types of swaps whose process ended before dropping them (all of them,
    or those replaced by enum type ``into``)."""
    kept = introspection.kept_old_types(connection, [BLOCKING_PREFIX, ONLINE_PREFIX])
    for schema, name, comment in kept:
        found = swap_marker(comment)
        if found is not None and into in (None, found["into"]):
            finish_old_type(connection, name, schema)


def _held(schema_editor, old_name: str, schema: str | None):
    """The old type, read once its lock is held (None: gone already). ``COMMENT ON TYPE`` with
    its own comment conflicts with ``ADD VALUE`` and changes nothing."""
    connection = schema_editor.connection
    before = introspection.enum_type(connection, old_name, schema)
    if before is None:
        return None
    locks.run_locked(schema_editor, enum_sql.comment_on_type(before.qualified, before.comment),
                     f"dropping enum type {old_name}, kept after a type swap",
                     type_name=before.qualified)
    return introspection.enum_type(connection, old_name, before.schema)


def _carry(schema_editor, into: tuple[str, str], value: str, old_values, present: list) -> None:
    """Add ``value`` to the new type ``into`` where it stands in the old one: after the value
    before it that both have, else before the one after it (``present`` is kept in step)."""
    position = old_values.index(value)
    after = next((v for v in reversed(old_values[:position]) if v in present), None)
    before = None if after is not None else next(
        (v for v in old_values[position + 1:] if v in present), None)
    locks.run_locked(schema_editor, enum_sql.add_value(into, value, before=before, after=after),
                     f"carrying {value!r} into enum type {into[1]}", type_name=into)
    if after is not None:
        present.insert(present.index(after) + 1, value)
    else:
        present.insert(present.index(before) if before is not None else len(present), value)
    logger.warning("Value %r was added to enum type %s while a type swap replaced it; it was "
                   "carried into the new type.", value, into[1])
