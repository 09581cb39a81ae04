"""System checks of the enum engine (ids ``enums.E…`` and ``enums.W…``)."""

from __future__ import annotations

from django.core import checks
from django.db import connections


@checks.register(checks.Tags.database)
def check_database_vendor(databases=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E010: enum fields need PostgreSQL."""
    errors = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            errors.append(
                checks.Error(
                    f"Database {alias!r} is {connection.vendor}; native enum types need "
                    "PostgreSQL.",
                    hint="Point DATABASE_URL at a PostgreSQL 13+ server, or unset it to use "
                    "the embedded one.",
                    obj=alias,
                    id="enums.E010",
                )
            )
    return errors
