"""What every enum operation shares: the guard, the catalog look-ups and refusals, the
announcement through ``signals.enum_changed``, ``deconstruct``; and the label checks and name
fragments the operations use.
"""

from __future__ import annotations

import re

from django.db import router
from django.db.migrations.operations.base import Operation, OperationCategory

from .. import introspection, locks
from ..errors import RefusedChange
from ..fields import MAX_NAME_BYTES
from ..signals import EnumAction, current_migration, enum_changed


def name_fragment(*parts: str) -> str:
    """``parts`` joined as a migration name fragment: lower case, word characters only."""
    text = "_".join(re.sub(r"\W+", "_", part.lower()).strip("_") for part in parts)
    return text[:52].strip("_") or "enum"


def check_labels(type_name: str, values) -> None:
    """Refuse labels PostgreSQL would refuse: longer than 63 bytes, or repeated."""
    for value in values:
        size = len(value.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            raise RefusedChange(
                f"Value {value!r} of enum type {type_name} is {size} bytes in UTF-8; PostgreSQL "
                f"allows at most {MAX_NAME_BYTES}. Choose a shorter value (the label shown to "
                "users can stay long)."
            )
    repeated = sorted({value for value in values if list(values).count(value) > 1})
    if repeated:
        raise RefusedChange(
            f"Enum type {type_name} would have the value(s) {repeated} more than once; each "
            "value must be unique. Remove the duplicates."
        )


#: Where migrations name the operations: Django's ``MigrationWriter`` writes ``import
#: <class.__module__>`` and names each operation from there, so migration files (already
#: written ones too) must not depend on which module of this package defines it.
PUBLIC_MODULE = "betintel.enums.operations"


class EnumOperation(Operation):
    """What every enum operation shares: the guard, the announcement, ``deconstruct``."""

    __module__ = PUBLIC_MODULE

    reversible = True
    category = OperationCategory.ALTERATION
    #: The constructor's arguments, kept as attributes of the same names.
    arguments: tuple[str, ...] = ()

    def allowed(self, app_label: str, schema_editor) -> bool:
        """Run only on PostgreSQL, and only where the router lets ``app_label`` migrate."""
        connection = schema_editor.connection
        return connection.vendor == "postgresql" and router.allow_migrate(
            connection.alias, app_label
        )

    def announce(
        self, schema_editor, action: EnumAction, direction: str, value: str | None = None, **details
    ) -> None:
        """Tell listeners (the audit log) what this operation just did to the database."""
        details = {
            "operation": self.__class__.__name__,
            "type": self.name,
            "value": value,
            "direction": direction,
            "migration": current_migration.get(),
            **details,
        }
        if schema_editor.collect_sql:
            return
        enum_changed.send(
            sender=self.__class__,
            action=action,
            type_name=self.name,
            value=value,
            details=details,
            using=schema_editor.connection.alias,
        )

    def existing_type(self, schema_editor, doing: str) -> introspection.EnumType | None:
        """The type as the database has it; refuse when it is missing. None under sqlmigrate."""
        if schema_editor.collect_sql:
            return None
        existing = introspection.enum_type(schema_editor.connection, self.name)
        if existing is None:
            raise RefusedChange(
                f"Enum type {self.name} does not exist in the database, so {doing}. Apply the "
                "migration that creates it (CreateEnumType) first, or check the type_name."
            )
        return existing

    def require_values(self, existing, *values: str | None, doing: str) -> None:
        """Refuse when ``existing`` (if known) lacks one of ``values``."""
        if existing is None:
            return
        for value in values:
            if value is not None and value not in existing.values:
                raise RefusedChange(
                    f"Enum type {self.name} has no value {value!r} (it has "
                    f"{list(existing.values)}), so {doing}. Check this migration against the "
                    "database (manage.py enum_status shows both)."
                )

    def target(self, existing: introspection.EnumType | None) -> str | tuple[str, str]:
        """The type as statements name it: with its schema when the catalog was read (so
        ``search_path`` cannot point them at a same-named type elsewhere), else as written."""
        return existing.qualified if existing is not None else self.name

    def alter_type(self, schema_editor, statement, purpose: str, target=None) -> None:
        """Run a statement that locks the type (not its tables), under the lock budget: it
        waits only behind another transaction changing the same type, and not for long."""
        locks.run_locked(schema_editor, statement, purpose, type_name=target or self.name)

    def deconstruct(self):
        """Keyword arguments only, leaving out optional ones at their default (None)."""
        kwargs = {name: getattr(self, name) for name in self.arguments}
        return self.__class__.__name__, [], {
            name: value for name, value in kwargs.items() if value is not None
        }
