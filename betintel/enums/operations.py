"""Migration operations for PostgreSQL enum types (SPEC §4).

Each operation quotes names and labels through psycopg, shows its SQL in ``sqlmigrate``, keeps
migration state exact (enum state lives in the ``EnumField``\\ s, see ``state.py``), is skipped on
other databases and where a router forbids it, and announces what it did through
``signals.enum_changed``.
"""

from __future__ import annotations

import re

from django.db import router
from django.db.migrations.operations.base import Operation, OperationCategory
from django.db.migrations.state import ProjectState

from . import introspection
from . import sql as enum_sql
from .signals import current_migration, enum_changed
from .state import alter_enum_fields


def _fragment(*parts: str) -> str:
    text = "_".join(re.sub(r"\W+", "_", part.lower()).strip("_") for part in parts)
    return text[:52].strip("_") or "enum"


class EnumOperation(Operation):
    """What every enum operation shares: the guard, the announcement, ``deconstruct``."""

    reversible = True
    category = OperationCategory.ALTERATION

    def allowed(self, app_label: str, schema_editor) -> bool:
        """Run only on PostgreSQL, and only where the router lets ``app_label`` migrate."""
        connection = schema_editor.connection
        return connection.vendor == "postgresql" and router.allow_migrate(
            connection.alias, app_label
        )

    def announce(
        self, schema_editor, action: str, direction: str, value: str | None = None, **details
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

    def deconstruct(self):
        return self.__class__.__name__, [], self._kwargs()

    def _kwargs(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must say how it deconstructs.")


class CreateEnumType(EnumOperation):
    """``CREATE TYPE name AS ENUM (values)``; backwards ``DROP TYPE``."""

    category = OperationCategory.ADDITION

    def __init__(self, name: str, values: list[str]) -> None:
        self.name = name
        self.values = list(values)

    def _kwargs(self) -> dict:
        return {"name": self.name, "values": self.values}

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        # The type's values live in the fields that use it; none does yet.
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        connection = schema_editor.connection
        if not schema_editor.collect_sql:
            existing = introspection.enum_type(connection, self.name)
            if existing is not None:
                if list(existing.values) == self.values:
                    return  # already there, exactly as wanted
                raise ValueError(
                    f"Enum type {self.name} already exists with values "
                    f"{list(existing.values)}, not {self.values}. Drop or rename the existing "
                    "type, or bring this migration in line with the database."
                )
            if introspection.type_exists(connection, self.name):
                raise ValueError(
                    f"A type named {self.name} already exists and is not an enum type; "
                    "choose another type_name for the field."
                )
        enum_sql.execute(schema_editor, enum_sql.create_type(self.name, self.values))
        self.announce(schema_editor, "type_created", "forwards", values=self.values)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        drop_enum_type(schema_editor, self.name)
        self.announce(schema_editor, "type_dropped", "backwards")

    def describe(self) -> str:
        return f"Create enum type {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment("create", self.name)

    def reduce(self, operation, app_label):
        if isinstance(operation, DropEnumType) and operation.name == self.name:
            return []
        return super().reduce(operation, app_label)


class DropEnumType(EnumOperation):
    """``DROP TYPE name`` (never CASCADE); backwards ``CREATE TYPE`` with ``values``."""

    category = OperationCategory.REMOVAL

    def __init__(self, name: str, values: list[str]) -> None:
        self.name = name
        self.values = list(values)

    def _kwargs(self) -> dict:
        return {"name": self.name, "values": self.values}

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        drop_enum_type(schema_editor, self.name)
        self.announce(schema_editor, "type_dropped", "forwards")

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        enum_sql.execute(schema_editor, enum_sql.create_type(self.name, self.values))
        self.announce(schema_editor, "type_created", "backwards", values=self.values)

    def describe(self) -> str:
        return f"Drop enum type {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment("drop", self.name)


def drop_enum_type(schema_editor, name: str) -> None:
    """``DROP TYPE`` without CASCADE; a type still in use is refused with its dependents named."""
    if not schema_editor.collect_sql:
        from .dependencies import describe_dependents

        users = describe_dependents(schema_editor.connection, name)
        if users:
            raise ValueError(
                f"Enum type {name} is still used by {', '.join(users)}; it is not dropped. "
                "Remove or convert those first (a migration that removes the fields), "
                "then drop the type."
            )
    enum_sql.execute(schema_editor, enum_sql.drop_type(name))


class AddEnumValue(EnumOperation):
    """``ALTER TYPE … ADD VALUE IF NOT EXISTS``: catalog only, no table lock, no rewrite.

    Backwards removes the value again by a type swap, refused (nothing changed) while rows
    hold it.
    """

    category = OperationCategory.ADDITION

    def __init__(
        self, name: str, value: str, before: str | None = None, after: str | None = None
    ) -> None:
        if before is not None and after is not None:
            raise ValueError("AddEnumValue takes before= or after=, not both.")
        self.name = name
        self.value = value
        self.before = before
        self.after = after

    def _kwargs(self) -> dict:
        kwargs = {"name": self.name, "value": self.value}
        if self.before is not None:
            kwargs["before"] = self.before
        if self.after is not None:
            kwargs["after"] = self.after
        return kwargs

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            if self.value in values:
                return values, deprecated
            if self.before is not None and self.before in values:
                values.insert(values.index(self.before), self.value)
            elif self.after is not None and self.after in values:
                values.insert(values.index(self.after) + 1, self.value)
            else:
                values.append(self.value)
            return values, deprecated

        alter_enum_fields(state, self.name, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        enum_sql.execute(
            schema_editor, enum_sql.add_value(self.name, self.value, self.before, self.after)
        )
        self.announce(schema_editor, "value_added", "forwards", self.value)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .swap import remove_value

        remove_value(schema_editor, self.name, self.value, replacement=None)
        self.announce(schema_editor, "value_removed", "backwards", self.value)

    def describe(self) -> str:
        where = ""
        if self.before is not None:
            where = f" before {self.before!r}"
        elif self.after is not None:
            where = f" after {self.after!r}"
        return f"Add value {self.value!r} to enum type {self.name}{where}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "add", self.value)


class RenameEnumValue(EnumOperation):
    """``ALTER TYPE … RENAME VALUE old TO new``; backwards renames it back."""

    def __init__(self, name: str, old: str, new: str) -> None:
        self.name = name
        self.old = old
        self.new = new

    def _kwargs(self) -> dict:
        return {"name": self.name, "old": self.old, "new": self.new}

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        alter_enum_fields(state, self.name, _renamer(self.old, self.new))

    def _rename(self, app_label, schema_editor, old: str, new: str, direction: str) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        enum_sql.execute(schema_editor, enum_sql.rename_value(self.name, old, new))
        self.announce(schema_editor, "value_renamed", direction, new, old=old, new=new)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._rename(app_label, schema_editor, self.old, self.new, "forwards")

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._rename(app_label, schema_editor, self.new, self.old, "backwards")

    def describe(self) -> str:
        return f"Rename value {self.old!r} of enum type {self.name} to {self.new!r}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "rename", self.old, self.new)


def _renamer(old: str, new: str):
    def change(values, deprecated):
        values = [new if value == old else value for value in values]
        deprecated = {
            (new if key == old else key): (new if repl == old else repl)
            for key, repl in deprecated.items()
        }
        return values, deprecated

    return change


class DeprecateEnumValue(EnumOperation):
    """Record ``value`` as deprecated in the database (the type's comment); backwards clears it."""

    def __init__(self, name: str, value: str, replacement: str | None = None) -> None:
        self.name = name
        self.value = value
        self.replacement = replacement

    def _kwargs(self) -> dict:
        kwargs = {"name": self.name, "value": self.value}
        if self.replacement is not None:
            kwargs["replacement"] = self.replacement
        return kwargs

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            deprecated[self.value] = self.replacement
            return values, deprecated

        alter_enum_fields(state, self.name, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .deprecation import record_deprecation

        record_deprecation(schema_editor, self.name, self.value, self.replacement)
        self.announce(
            schema_editor, "value_deprecated", "forwards", self.value, replacement=self.replacement
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .deprecation import clear_deprecation

        clear_deprecation(schema_editor, self.name, self.value)
        self.announce(schema_editor, "value_undeprecated", "backwards", self.value)

    def describe(self) -> str:
        moved = f" (rows move to {self.replacement!r})" if self.replacement is not None else ""
        return f"Deprecate value {self.value!r} of enum type {self.name}{moved}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "deprecate", self.value)


class RemoveEnumValue(EnumOperation):
    """Remove a deprecated value by a type swap; rows holding it move to ``replacement``.

    Backwards adds the value again at its old position; the rows that held it stay moved.
    """

    category = OperationCategory.REMOVAL

    def __init__(self, name: str, value: str, replacement: str | None = None) -> None:
        self.name = name
        self.value = value
        self.replacement = replacement

    def _kwargs(self) -> dict:
        kwargs = {"name": self.name, "value": self.value}
        if self.replacement is not None:
            kwargs["replacement"] = self.replacement
        return kwargs

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            deprecated.pop(self.value, None)
            return [value for value in values if value != self.value], deprecated

        alter_enum_fields(state, self.name, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .state import enum_types
        from .swap import remove_value

        known = enum_types(from_state).get(self.name)
        if known is not None and self.value not in known.deprecated:
            raise ValueError(
                f"Value {self.value!r} of enum type {self.name} is not deprecated in migration "
                "state, so it is not removed. Mark it deprecated(...) in the code, run "
                "makemigrations and migrate (a DeprecateEnumValue migration), release, and "
                "remove it in a later migration."
            )
        remove_value(schema_editor, self.name, self.value, replacement=self.replacement)
        self.announce(
            schema_editor, "value_removed", "forwards", self.value, replacement=self.replacement
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .state import enum_types

        known = enum_types(to_state).get(self.name)
        before = after = None
        if known is not None and self.value in known.values:
            position = known.values.index(self.value)
            if position + 1 < len(known.values):
                before = known.values[position + 1]
            elif position > 0:
                after = known.values[position - 1]
        enum_sql.execute(schema_editor, enum_sql.add_value(self.name, self.value, before, after))
        self.announce(schema_editor, "value_added", "backwards", self.value)

    def describe(self) -> str:
        moved = f", moving its rows to {self.replacement!r}" if self.replacement else ""
        return f"Remove value {self.value!r} from enum type {self.name}{moved}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "remove", self.value)
