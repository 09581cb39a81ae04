"""The migration operations of a conversion: Django ``AlterField``\\ s with their own database
step (plan, refuse, carry out), so migration state stays Django's."""

from __future__ import annotations

from django.db.migrations.operations import AlterField

from ..fields import base_enum_field
from .fields import intermediate_field, is_conversion
from .plan import plan_conversion
from .run import run_conversion

#: Where migrations name these operations: ``MigrationWriter`` writes a class's
#: ``__module__``, and a migration, once written, must not depend on how this package is laid
#: out inside.
PUBLIC_MODULE = "betintel.enums.conversion"


class EnumConversion(AlterField):
    """An ``AlterField`` whose database step converts the column between a character type and
    an enum type; migration state is Django's."""

    __module__ = PUBLIC_MODULE

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, to_model):
            return
        from_model = from_state.apps.get_model(app_label, self.model_name)
        from_field = from_model._meta.get_field(self.name)
        to_field = to_model._meta.get_field(self.name)
        if schema_editor.connection.vendor != "postgresql" or not is_conversion(
            from_field, to_field
        ):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        plan = plan_conversion(schema_editor, from_model, from_field, to_field, to_model)
        run_conversion(schema_editor, plan)
        # Whatever else this AlterField changes (null, an index, the column name) is Django's.
        converted = intermediate_field(from_field, to_field)
        converted.model = to_model
        schema_editor.alter_field(to_model, converted, to_field)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self.database_forwards(app_label, schema_editor, from_state, to_state)

    def reduce(self, operation, app_label):
        if (
            isinstance(operation, AlterField)
            and not isinstance(operation, EnumConversion)
            and self.is_same_field_operation(operation)
        ):
            return False  # merging would lose the conversion
        return super().reduce(operation, app_label)


class ConvertToEnumField(EnumConversion):
    """A character field (or an array of one) becomes an ``EnumField``; backwards converts
    back. Refused, with nothing changed, while rows hold values that are not in the type."""

    __module__ = PUBLIC_MODULE

    def describe(self) -> str:
        enum_field = base_enum_field(self.field)
        return (
            f"Convert field {self.name} on {self.model_name} to enum type "
            f"{enum_field.enum_type_name if enum_field else '?'}"
        )

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_{self.name_lower}_to_enum"


class ConvertFromEnumField(EnumConversion):
    """An ``EnumField`` (or an array of one) becomes a character field again; backwards
    converts back to the enum type, refused while rows hold values the type lacks."""

    __module__ = PUBLIC_MODULE

    def describe(self) -> str:
        return f"Convert field {self.name} on {self.model_name} from an enum type to text"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_{self.name_lower}_from_enum"
