"""Reading arrays of enum values as lists.

psycopg knows the array types of the built-in types only; an ``ArrayField(EnumField(...))``
column would reach Python as the text ``{a,b}``. Each new connection registers the array type
of every enum type in its database, as ``django.contrib.postgres`` does for ``citext[]``: the
elements load as text. A type created after the connection was opened is read this way from
the next connection on.
"""

from __future__ import annotations

from django.db.backends.base.base import NO_DB_ALIAS


def register_enum_arrays(sender=None, connection=None, **kwargs) -> None:
    """``connection_created`` receiver: teach the new connection every enum array type."""
    if connection is None or connection.vendor != "postgresql" or connection.alias == NO_DB_ALIAS:
        return
    from psycopg.types import TypeInfo

    from .introspection import enum_array_types

    for name, array_oid in enum_array_types(connection):
        TypeInfo(name, 0, array_oid).register(connection.connection)
