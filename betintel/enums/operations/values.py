"""Adding and renaming one value of an enum type: ``AddEnumValue``, ``RenameEnumValue``."""

from __future__ import annotations

from django.db.migrations.operations.base import OperationCategory
from django.db.migrations.state import ProjectState

from .. import sql as enum_sql
from ..deprecation import comment_renamed, deprecations_renamed
from ..errors import RefusedChange
from ..signals import EnumAction
from ..state import alter_enum_fields
from .base import PUBLIC_MODULE, EnumOperation, check_labels, name_fragment


class AddEnumValue(EnumOperation):
    """``ALTER TYPE … ADD VALUE IF NOT EXISTS``: catalog only, no table lock, no rewrite.

    Backwards removes the value again by a type swap, refused (nothing changed) while rows
    hold it.
    """

    __module__ = PUBLIC_MODULE

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
        from ..swap import remove_value

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
        return name_fragment(self.name, "add", self.value)


class RenameEnumValue(EnumOperation):
    """``ALTER TYPE … RENAME VALUE old TO new``; backwards renames it back.

    A deprecation recorded for the value (or naming it as a replacement) follows the rename.
    """

    __module__ = PUBLIC_MODULE

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
        return name_fragment(self.name, "rename", self.old, self.new)
