"""Migration operations for PostgreSQL enum types (SPEC §4).

Each operation quotes names and labels through psycopg, shows its SQL in ``sqlmigrate``, keeps
migration state exact (enum state lives in the ``EnumField``\\ s, see ``state.py``), is skipped on
other databases and where a router forbids it, and announces what it did through
``signals.enum_changed``: once per direction applied.

Before changing anything each operation looks in the catalog and refuses, with a message saying
what to do, what PostgreSQL would refuse less clearly (a missing type, an unknown value, a label
over 63 bytes). Under ``sqlmigrate`` (``collect_sql``) those look-ups are skipped.
"""

from __future__ import annotations

import re

from django.db import router
from django.db.migrations.operations.base import Operation, OperationCategory
from django.db.migrations.state import ProjectState

from . import introspection, locks
from . import sql as enum_sql
from .deprecation import (
    clear_deprecation,
    comment_renamed,
    deprecations_renamed,
    deprecations_without,
    record_deprecation,
)
from .errors import RefusedChange
from .fields import MAX_NAME_BYTES
from .signals import EnumAction, current_migration, enum_changed
from .state import alter_enum_fields, state_types

__all__ = [
    "AddEnumValue",
    "CreateEnumType",
    "DeprecateEnumValue",
    "DropEnumType",
    "EnumOperation",
    "RemoveEnumValue",
    "RenameEnumValue",
]


def _fragment(*parts: str) -> str:
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


class EnumOperation(Operation):
    """What every enum operation shares: the guard, the announcement, ``deconstruct``."""

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


class WholeTypeOperation(EnumOperation):
    """Creating or dropping a whole type; each is the other's reverse, so they share both."""

    arguments = ("name", "values")
    #: What forwards does, ``"create"`` or ``"drop"``; backwards does the other.
    verb: str

    def __init__(self, name: str, values: list[str]) -> None:
        self.name = name
        self.values = list(values)

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        # The type's values live in the fields that use it, which other operations change.
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._create_or_drop(self.verb == "create", app_label, schema_editor, "forwards")

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._create_or_drop(self.verb != "create", app_label, schema_editor, "backwards")

    def _create_or_drop(self, create: bool, app_label: str, schema_editor, direction: str) -> None:
        (self.create_type if create else self.drop_type)(app_label, schema_editor, direction)

    def describe(self) -> str:
        return f"{self.verb.capitalize()} enum type {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.verb, self.name)

    def create_type(self, app_label: str, schema_editor, direction: str) -> None:
        """``CREATE TYPE``, unless the catalog already has it exactly as wanted."""
        if not self.allowed(app_label, schema_editor):
            return
        check_labels(self.name, self.values)
        connection = schema_editor.connection
        if not schema_editor.collect_sql:
            existing = introspection.enum_type(connection, self.name)
            if existing is not None:
                if list(existing.values) == self.values:
                    return  # already there, exactly as wanted
                raise RefusedChange(
                    f"Enum type {self.name} already exists with values "
                    f"{list(existing.values)}, not {self.values}. Drop or rename the existing "
                    "type, or bring this migration in line with the database."
                )
            if introspection.type_exists(connection, self.name):
                raise RefusedChange(
                    f"A type named {self.name} already exists and is not an enum type; "
                    "choose another type_name for the field."
                )
        enum_sql.execute(schema_editor, enum_sql.create_type(self.name, self.values))
        self.announce(schema_editor, EnumAction.TYPE_CREATED, direction, values=self.values)

    def drop_type(self, app_label: str, schema_editor, direction: str) -> None:
        """``DROP TYPE`` without CASCADE, refused while anything still uses the type."""
        if not self.allowed(app_label, schema_editor):
            return
        existing = self.existing_type(schema_editor, "it cannot be dropped")
        drop_enum_type(schema_editor, self.name, existing.schema if existing else None)
        self.announce(schema_editor, EnumAction.TYPE_DROPPED, direction)


class CreateEnumType(WholeTypeOperation):
    """``CREATE TYPE name AS ENUM (values)``; backwards ``DROP TYPE``."""

    category = OperationCategory.ADDITION
    verb = "create"

    def reduce(self, operation, app_label):
        if isinstance(operation, DropEnumType) and operation.name == self.name:
            return []
        return super().reduce(operation, app_label)


class DropEnumType(WholeTypeOperation):
    """``DROP TYPE name`` (never CASCADE); backwards ``CREATE TYPE`` with ``values``."""

    category = OperationCategory.REMOVAL
    verb = "drop"


def drop_enum_type(schema_editor, name: str, schema: str | None = None) -> None:
    """``DROP TYPE`` (of ``name`` in ``schema``, when given) without CASCADE; a type still in
    use is refused with its dependents named."""
    if not schema_editor.collect_sql:
        users = introspection.describe_dependents(schema_editor.connection, name, schema)
        if users:
            raise RefusedChange(
                f"Enum type {name} is still used by {', '.join(users)}; it is not dropped. "
                "Remove or convert those first (a migration that removes the fields), "
                "then drop the type."
            )
    enum_sql.execute(schema_editor, enum_sql.drop_type((schema, name) if schema else name))


class AddEnumValue(EnumOperation):
    """``ALTER TYPE … ADD VALUE IF NOT EXISTS``: catalog only, no table lock, no rewrite.

    Backwards removes the value again by a type swap, refused (nothing changed) while rows
    hold it.
    """

    category = OperationCategory.ADDITION
    arguments = ("name", "value", "before", "after")

    def __init__(
        self, name: str, value: str, before: str | None = None, after: str | None = None
    ) -> None:
        if before is not None and after is not None:
            raise ValueError("AddEnumValue takes before= or after=, not both.")
        self.name = name
        self.value = value
        self.before = before
        self.after = after

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
        check_labels(self.name, [self.value])
        doing = f"value {self.value!r} cannot be added"
        existing = self.existing_type(schema_editor, doing)
        if existing is None or self.value not in existing.values:
            self.require_values(existing, self.before, self.after, doing=doing)
        target = self.target(existing)
        self.alter_type(
            schema_editor,
            enum_sql.add_value(target, self.value, self.before, self.after),
            f"adding {self.value!r} to enum type {self.name}",
            target,
        )
        self.announce(schema_editor, EnumAction.VALUE_ADDED, "forwards", self.value)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .swap import remove_value

        self.existing_type(schema_editor, f"value {self.value!r} cannot be removed from it")
        remove_value(
            schema_editor,
            self.name,
            self.value,
            replacement=None,
            advice=(
                "Unapplying this AddEnumValue would lose them. Move those rows to another "
                "value (a data migration, or by hand), then unapply again."
            ),
        )
        self.announce(schema_editor, EnumAction.VALUE_REMOVED, "backwards", self.value)

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
    """``ALTER TYPE … RENAME VALUE old TO new``; backwards renames it back.

    A deprecation recorded for the value (or naming it as a replacement) follows the rename.
    """

    arguments = ("name", "old", "new")

    def __init__(self, name: str, old: str, new: str) -> None:
        self.name = name
        self.old = old
        self.new = new

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            values = [self.new if value == self.old else value for value in values]
            return values, deprecations_renamed(deprecated, self.old, self.new)

        alter_enum_fields(state, self.name, change)

    def _rename(self, app_label, schema_editor, old: str, new: str, direction: str) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        check_labels(self.name, [new])
        doing = f"value {old!r} cannot be renamed to {new!r}"
        existing = self.existing_type(schema_editor, doing)
        if existing is not None and old not in existing.values and new in existing.values:
            pass  # renamed already: nothing to do, as with ADD VALUE IF NOT EXISTS
        else:
            self.require_values(existing, old, doing=doing)
            if existing is not None and new in existing.values:
                raise RefusedChange(
                    f"Enum type {self.name} already has a value {new!r}, so {doing}. Choose "
                    "another name, or move the rows (add, migrate data, deprecate, remove)."
                )
            purpose = f"renaming {old!r} of enum type {self.name}"
            target = self.target(existing)
            self.alter_type(schema_editor, enum_sql.rename_value(target, old, new), purpose,
                            target)
            comment = existing.comment if existing is not None else None
            renamed = comment_renamed(comment, old, new)
            if renamed != comment:
                statement = enum_sql.comment_on_type(target, renamed)
                self.alter_type(schema_editor, statement, purpose, target)
        self.announce(schema_editor, EnumAction.VALUE_RENAMED, direction, new, old=old, new=new)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._rename(app_label, schema_editor, self.old, self.new, "forwards")

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._rename(app_label, schema_editor, self.new, self.old, "backwards")

    def describe(self) -> str:
        return f"Rename value {self.old!r} of enum type {self.name} to {self.new!r}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "rename", self.old, self.new)


class ReplacedValueOperation(EnumOperation):
    """An operation on one value whose rows go to ``replacement`` (if any) once it is gone."""

    arguments = ("name", "value", "replacement")

    def __init__(self, name: str, value: str, replacement: str | None = None) -> None:
        self.name = name
        self.value = value
        self.replacement = replacement


class DeprecateEnumValue(ReplacedValueOperation):
    """Record ``value`` as deprecated in the database (the type's comment); backwards clears it."""

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            deprecated[self.value] = self.replacement
            return values, deprecated

        alter_enum_fields(state, self.name, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        doing = f"value {self.value!r} cannot be deprecated"
        existing = self.existing_type(schema_editor, doing)
        self.require_values(existing, self.value, self.replacement, doing=doing)
        if self.replacement == self.value:
            raise RefusedChange(
                f"Value {self.value!r} of enum type {self.name} cannot be its own replacement; "
                "name another value, or none."
            )
        record_deprecation(schema_editor, self.name, self.value, self.replacement)
        self.announce(
            schema_editor, EnumAction.VALUE_DEPRECATED, "forwards", self.value,
            replacement=self.replacement,
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        self.existing_type(schema_editor, f"the deprecation of {self.value!r} cannot be cleared")
        clear_deprecation(schema_editor, self.name, self.value)
        self.announce(schema_editor, EnumAction.VALUE_UNDEPRECATED, "backwards", self.value)

    def describe(self) -> str:
        moved = f" (rows move to {self.replacement!r})" if self.replacement is not None else ""
        return f"Deprecate value {self.value!r} of enum type {self.name}{moved}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "deprecate", self.value)


class RemoveEnumValue(ReplacedValueOperation):
    """Remove a deprecated value by a type swap; rows holding it move to ``replacement``.

    Backwards adds the value again at its old position (deprecated again, as it was before the
    removal); the rows that held it stay moved.
    """

    category = OperationCategory.REMOVAL

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            kept = [value for value in values if value != self.value]
            return kept, deprecations_without(deprecated, self.value, self.replacement)

        alter_enum_fields(state, self.name, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from .swap import remove_value

        existing = self.existing_type(schema_editor, f"value {self.value!r} cannot be removed")
        self._require_deprecated(from_state, existing)
        remove_value(schema_editor, self.name, self.value, replacement=self.replacement)
        self.announce(
            schema_editor, EnumAction.VALUE_REMOVED, "forwards", self.value,
            replacement=self.replacement,
        )

    def _require_deprecated(self, from_state, existing) -> None:
        """Refuse unless the value is deprecated: in migration state, or (for a type no model
        uses) recorded in the database."""
        known = state_types(from_state).get(self.name)
        if known is not None:
            deprecated = self.value in known.deprecated
        elif existing is not None and self.value in existing.values:
            deprecated = self.value in introspection.recorded_deprecations(existing.comment)
        else:
            return
        if not deprecated:
            raise RefusedChange(
                f"Value {self.value!r} of enum type {self.name} is not deprecated in migration "
                "state, so it is not removed. Mark it deprecated(...) in the code, run "
                "makemigrations and migrate (a DeprecateEnumValue migration), release, and "
                "remove it in a later migration."
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        doing = f"value {self.value!r} cannot be added back"
        existing = self.existing_type(schema_editor, doing)
        known = state_types(to_state).get(self.name)
        before, after = _old_position(known, self.value, existing)
        check_labels(self.name, [self.value])
        target = self.target(existing)
        self.alter_type(
            schema_editor,
            enum_sql.add_value(target, self.value, before, after),
            f"adding {self.value!r} back to enum type {self.name}",
            target,
        )
        if known is not None and self.value in known.deprecated:
            record_deprecation(schema_editor, self.name, self.value, known.deprecated[self.value])
        self.announce(schema_editor, EnumAction.VALUE_ADDED, "backwards", self.value)

    def describe(self) -> str:
        moved = f", moving its rows to {self.replacement!r}" if self.replacement else ""
        return f"Remove value {self.value!r} from enum type {self.name}{moved}"

    @property
    def migration_name_fragment(self) -> str:
        return _fragment(self.name, "remove", self.value)


def _old_position(known, value: str, existing) -> tuple[str | None, str | None]:
    """``(before, after)`` putting ``value`` back where migration state had it."""
    if known is None or value not in known.values:
        return None, None
    present = set(existing.values) if existing is not None else set(known.values)
    position = known.values.index(value)
    following = [v for v in known.values[position + 1 :] if v in present and v != value]
    if following:
        return following[0], None
    preceding = [v for v in known.values[:position] if v in present]
    return None, (preceding[-1] if preceding else None)
