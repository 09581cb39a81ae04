"""Every query the engine makes against PostgreSQL's catalogs, by subject.

- ``objects``: what the queries return — ``EnumType``, ``Table``, ``Column``;
- ``types``: enum types, their labels, comments and owners, and the schema a type lives in;
- ``dependents``: what uses a type or a column (columns, defaults, indexes, constraints,
  foreign keys, and the objects a swap cannot rebuild);
- ``tables``: the enum columns of tables, their sizes, planner estimates and statistics;
- ``sessions``: other sessions holding the locks we wait for.

The rest of the engine imports from here; ``CURRENT_NAMESPACE`` is how every query says "the
current schema".
"""

from __future__ import annotations

from .dependents import (
    Constraint,
    Default,
    Dependents,
    Index,
    describe_dependents,
    expression_dependents,
    pattern_indexes,
    type_dependents,
)
from .objects import Column, EnumType, Table
from .sessions import advisory_holder, blocking_sessions
from .tables import (
    ColumnStats,
    column_statistics,
    enum_columns,
    table_column,
    table_estimates,
)
from .types import (
    COMMENT_KEY,
    CURRENT_NAMESPACE,
    enum_array_types,
    enum_type,
    enum_types,
    every_enum_type,
    kept_old_types,
    model_tables,
    other_owner,
    parse_comment,
    recorded_deprecations,
    type_exists,
    type_schema,
)

__all__ = [
    "COMMENT_KEY", "CURRENT_NAMESPACE", "Column", "ColumnStats", "Constraint", "Default",
    "Dependents", "EnumType", "Index", "Table", "advisory_holder", "blocking_sessions",
    "column_statistics", "describe_dependents", "enum_array_types", "enum_columns", "enum_type",
    "enum_types", "every_enum_type", "expression_dependents", "kept_old_types", "model_tables",
    "other_owner", "parse_comment", "pattern_indexes", "recorded_deprecations", "table_column",
    "table_estimates", "type_dependents", "type_exists", "type_schema",
]
