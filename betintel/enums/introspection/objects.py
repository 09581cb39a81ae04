"""What the catalog queries return: an enum type, a table, a column of an enum type.

One spelling of each, shared by everything that reads the catalog or acts on what it found
(the swaps, the conversions, the locks, the counts, the report), so a table found by one part
is handed to another as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import sql as enum_sql


@dataclass(frozen=True)
class EnumType:
    """An enum type as the database has it."""

    name: str
    oid: int
    values: tuple[str, ...]
    comment: str | None
    schema: str = "public"
    #: The oid of its array type, where the query asked for it (0 otherwise).
    array_oid: int = field(default=0, compare=False)

    @property
    def qualified(self) -> tuple[str, str]:
        """``(schema, name)``, for statements that must not depend on ``search_path``."""
        return (self.schema, self.name)


@dataclass(frozen=True)
class Table:
    """A table: its oid (to find who holds a lock on it) and its schema-qualified name.

    Where the catalog was asked for them, also the planner's row estimate (-1: never analysed)
    and the size on disk; they describe the table at that moment and take no part in comparing
    two tables.
    """

    oid: int
    schema: str
    name: str
    estimated_rows: int = field(default=-1, compare=False)
    size_bytes: int = field(default=0, compare=False)

    @property
    def identifier(self):
        """The schema-qualified name, for statements."""
        return enum_sql.table_name(self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Column:
    """A table column of an enum type (``array``: of its array type)."""

    type_name: str
    table_oid: int
    schema: str
    #: The name of the column's table.
    table: str
    name: str
    attnum: int
    array: bool
    #: The table's ``relkind``: ``r`` (a table), ``p`` (partitioned), ``m`` (materialized view).
    relkind: str
    #: ``table.column`` for people; the table is schema-qualified only when outside the search
    #: path.
    label: str
