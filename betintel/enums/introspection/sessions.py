"""Other sessions, as the catalog shows them: who holds a lock we wait for.

A refused lock is reported with the sessions holding it (``locks.LockNotAcquired``), and a
``migrate`` queued behind another names the one it waits for (``locks.migrate_lock``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .types import type_schema

_HOLDERS_SQL = """
SELECT a.pid, coalesce(a.state, 'unknown'), clock_timestamp() - a.xact_start,
       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 80),
       array_agg(DISTINCT CASE WHEN l.locktype = 'relation'
                               THEN l.relation::regclass::text
                               ELSE pg_describe_object(l.classid, l.objid, 0) END)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_backend_pid()
  AND ((l.locktype = 'relation' AND l.relation = ANY(%s))
       OR (l.locktype = 'object' AND l.classid = 'pg_type'::regclass
           AND l.objid = (SELECT t.oid FROM pg_type t WHERE t.typname = %s
                          AND t.typnamespace = %s::regnamespace)))
GROUP BY a.pid, a.state, a.xact_start, a.query
ORDER BY a.xact_start NULLS LAST, a.pid
"""

# A bigint advisory key is held as two halves: classid the high 32 bits, objid the low.
_ADVISORY_HOLDER_SQL = """
SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid::bigint = (%s >> 32) AND objid::bigint = (%s & 4294967295)
  AND objsubid = 1 LIMIT 1
"""


def blocking_sessions(
    connection, table_oids: Sequence[int], type_name: str | tuple[str, str] | None = None
) -> list[dict]:
    """Other sessions holding a lock on any of ``table_oids`` or on the type ``type_name`` (a
    name, or ``(schema, name)``): pid, state, transaction age, query and the objects held.

    After our wait timed out we no longer wait, so ``pg_blocking_pids()`` has nothing to say;
    any lock held on those objects conflicts with what we asked for (ACCESS EXCLUSIVE on a
    table, EXCLUSIVE on a type), so every holder is a blocker.
    """
    schema, name = None, None
    if isinstance(type_name, tuple):
        schema, name = type_name
    elif type_name is not None:
        schema, name = type_schema(connection, type_name), type_name
    with connection.cursor() as cursor:
        cursor.execute(_HOLDERS_SQL, [list(table_oids), name, schema])
        return [
            {"pid": pid, "state": state, "transaction_age": age, "query": query, "objects": held}
            for pid, state, age, query, held in cursor.fetchall()
        ]


def advisory_holder(connection, key: int) -> int | None:
    """The pid of the session holding advisory lock ``key`` in this database, if visible."""
    with connection.cursor() as cursor:
        cursor.execute(_ADVISORY_HOLDER_SQL, [key, key])
        row = cursor.fetchone()
    return row[0] if row else None
