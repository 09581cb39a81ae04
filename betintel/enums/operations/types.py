"""Creating and dropping a whole enum type: ``CreateEnumType``, ``DropEnumType``."""

from __future__ import annotations

from django.db.migrations.operations.base import OperationCategory
from django.db.migrations.state import ProjectState

from .. import introspection
from .. import sql as enum_sql
from ..errors import RefusedChange
from ..signals import EnumAction
from .base import PUBLIC_MODULE, EnumOperation, check_labels, name_fragment


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
        return name_fragment(self.verb, self.name)

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

    __module__ = PUBLIC_MODULE

    category = OperationCategory.ADDITION
    verb = "create"

    def reduce(self, operation, app_label):
        if isinstance(operation, DropEnumType) and operation.name == self.name:
            return []
        return super().reduce(operation, app_label)


class DropEnumType(WholeTypeOperation):
    """``DROP TYPE name`` (never CASCADE); backwards ``CREATE TYPE`` with ``values``."""

    __module__ = PUBLIC_MODULE

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
