"""What depends on an enum type, found from the catalog (pg_depend, pg_attribute)."""

from __future__ import annotations

_DEPENDENTS_SQL = """
WITH target AS (
    SELECT t.oid, t.typarray
    FROM pg_type t
    WHERE t.typname = %s AND t.typnamespace = current_schema()::regnamespace
)
SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d, target
WHERE d.refclassid = 'pg_type'::regclass
  AND d.refobjid IN (target.oid, target.typarray)
  AND d.deptype = 'n'
ORDER BY 1
"""


def describe_dependents(connection, type_name: str) -> list[str]:
    """Readable names of the objects that use ``type_name`` (columns, functions, types, …)."""
    with connection.cursor() as cursor:
        cursor.execute(_DEPENDENTS_SQL, [type_name])
        return [row[0] for row in cursor.fetchall()]
