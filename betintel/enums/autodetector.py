"""``makemigrations`` support: detect enum changes in the code and write enum operations.

Enum state lives in the ``EnumField``\\ s (``state.py``). Before Django compares fields, the old
state's enum fields are brought up to the new values, so Django writes no ``AlterField`` for a
change that only touches an enum type; the enum operations are written here instead.
"""

from __future__ import annotations

from django.db.migrations import operations as django_ops
from django.db.migrations.autodetector import MigrationAutodetector, OperationDependency

from .operations import AddEnumValue, CreateEnumType
from .state import TypeState, alter_enum_fields, base_enum_field, enum_types

#: ``OperationDependency.type`` for "the operation that creates enum type ``model_name``".
ENUM_TYPE_CREATED = "enum_type_created"


class EnumAutodetector(MigrationAutodetector):
    """Django's autodetector, plus the enum rules of SPEC §5."""

    def _detect_changes(self, convert_apps=None, graph=None):
        self.old_enum_types = enum_types(self.from_state)
        self.new_enum_types = enum_types(self.to_state)
        self.from_state = self.from_state.clone()
        for name, new in self.new_enum_types.items():
            if name in self.old_enum_types:
                alter_enum_fields(
                    self.from_state, name, lambda _v, _d, new=new: (new.values, new.deprecated)
                )
        return super()._detect_changes(convert_apps, graph)

    def _sort_migrations(self):
        self.generate_enum_operations()
        super()._sort_migrations()

    def check_dependency(self, operation, dependency):
        if dependency.type == ENUM_TYPE_CREATED:
            return isinstance(operation, CreateEnumType) and operation.name == dependency.model_name
        return super().check_dependency(operation, dependency)

    def generate_enum_operations(self) -> None:
        """Put the enum operations in front of each app's generated operations."""
        per_app: dict[str, list] = {}
        for name, new in sorted(self.new_enum_types.items()):
            old = self.old_enum_types.get(name)
            owner = new.fields[0][0]
            if old is None:
                per_app.setdefault(owner, []).append(CreateEnumType(name, new.values))
                self._depend_on_creation(name, owner)
            else:
                per_app.setdefault(owner, []).extend(self.added_values(old, new))
        for app_label, enum_ops in per_app.items():
            for operation in enum_ops:
                operation._auto_deps = []
            existing = self.generated_operations.get(app_label, [])
            self.generated_operations[app_label] = enum_ops + existing

    @staticmethod
    def added_values(old: TypeState, new: TypeState) -> list[AddEnumValue]:
        """``AddEnumValue`` for each new member, placed where the code has it."""
        added = []
        present = list(old.values)
        for index, value in enumerate(new.values):
            if value in present:
                continue
            following = [v for v in new.values[index + 1 :] if v in present]
            before = following[0] if following else None
            added.append(AddEnumValue(old.name, value, before=before))
            present.insert(present.index(before) if before else len(present), value)
        return added

    def _depend_on_creation(self, type_name: str, owner: str) -> None:
        """Make every generated operation that uses ``type_name`` come after its creation."""
        dependency = OperationDependency(owner, type_name, None, ENUM_TYPE_CREATED)
        for ops in self.generated_operations.values():
            for operation in ops:
                if type_name in _types_used_by(operation):
                    operation._auto_deps.append(dependency)


def _types_used_by(operation) -> set[str]:
    if isinstance(operation, django_ops.CreateModel):
        fields = [field for _, field in operation.fields]
    elif isinstance(operation, django_ops.AddField | django_ops.AlterField):
        fields = [operation.field]
    else:
        return set()
    return {
        enum_field.enum_type_name
        for enum_field in map(base_enum_field, fields)
        if enum_field is not None
    }
