"""The end of a value's life: ``DeprecateEnumValue`` records it deprecated, ``RemoveEnumValue``
removes it by a type swap, moving its rows to the replacement."""

from __future__ import annotations

from django.db.migrations.operations.base import OperationCategory
from django.db.migrations.state import ProjectState

from .. import introspection
from .. import sql as enum_sql
from ..deprecation import clear_deprecation, deprecations_without, record_deprecation
from ..errors import RefusedChange
from ..signals import EnumAction
from ..state import alter_enum_fields, state_types
from .base import PUBLIC_MODULE, EnumOperation, check_labels, name_fragment


class ReplacedValueOperation(EnumOperation):
    """An operation on one value whose rows go to ``replacement`` (if any) once it is gone."""

    arguments = ("name", "value", "replacement")

    def __init__(self, name: str, value: str, replacement: str | None = None) -> None:
        self.name = name
        self.value = value
        self.replacement = replacement


class DeprecateEnumValue(ReplacedValueOperation):
    """Record ``value`` as deprecated in the database (the type's comment); backwards clears it."""

    __module__ = PUBLIC_MODULE

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
        return name_fragment(self.name, "deprecate", self.value)


class RemoveEnumValue(ReplacedValueOperation):
    """Remove a deprecated value by a type swap; rows holding it move to ``replacement``.

    Backwards adds the value again at its old position (deprecated again, as it was before the
    removal); the rows that held it stay moved.
    """

    __module__ = PUBLIC_MODULE

    category = OperationCategory.REMOVAL

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        def change(values, deprecated):
            kept = [value for value in values if value != self.value]
            return kept, deprecations_without(deprecated, self.value, self.replacement)

        alter_enum_fields(state, self.name, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self.allowed(app_label, schema_editor):
            return
        from ..swap import remove_value

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
        return name_fragment(self.name, "remove", self.value)


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
