"""What an operation needs from the same makemigrations run (a type it creates, a value it
adds), and which migration created each type, so the operations are placed after them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db.migrations import operations as django_ops

from ..conversion import ConvertToEnumField
from ..fields import base_enum_field
from ..operations import CreateEnumType, EnumOperation, RemoveEnumValue

#: ``OperationDependency.type`` for "the operation that creates enum type ``model_name``".
ENUM_TYPE_CREATED = "enum_type_created"
#: ``OperationDependency.type`` for "the operation that adds value ``field_name`` to type
#: ``model_name``".
ENUM_VALUE_ADDED = "enum_value_added"


def type_creators_in(graph) -> dict[str, tuple[str, str]]:
    """``{type name: (app_label, migration name)}`` of the migrations that create each type."""
    creators: dict[str, tuple[str, str]] = {}
    if graph is None:
        return creators
    for key in sorted(graph.nodes):
        for operation in getattr(graph.nodes[key], "operations", []):
            if isinstance(operation, CreateEnumType):
                creators[operation.name] = key
    return creators


def field_types(operation) -> set[str]:
    """Enum types of the fields a Django field/model operation creates or alters."""
    return {field.enum_type_name for field in _enum_fields_of(operation)}


def types_touched(operation) -> set[str]:
    """Enum types an operation needs to exist already."""
    if isinstance(operation, CreateEnumType):
        return set()
    if isinstance(operation, EnumOperation):
        return {operation.name}
    return field_types(operation)


def _enum_fields_of(operation) -> Iterator:
    if isinstance(operation, django_ops.CreateModel):
        fields = [field for _, field in operation.fields]
    elif isinstance(operation, django_ops.AddField | django_ops.AlterField):
        fields = [operation.field]
    else:
        return
    for model_field in fields:
        enum_field = base_enum_field(model_field)
        if enum_field is not None:
            yield enum_field


def values_used_by(operation, deep_deconstruct: Callable) -> set[str]:
    """Strings an operation writes into the database: defaults, conditions, replacements.

    A value added in this run must not appear in them; a coincidental match with another string
    only costs an extra migration, so the search is deliberately broad.
    """
    if isinstance(operation, RemoveEnumValue):
        return {operation.replacement} if operation.replacement else set()
    if isinstance(operation, EnumOperation):
        return set()
    if isinstance(operation, ConvertToEnumField):
        # The conversion casts every row, and rows may hold any value of the type.
        return set(base_enum_field(operation.field).enum_values)
    pieces: list = []
    if isinstance(operation, django_ops.CreateModel):
        pieces += [_field_defaults(f) for _, f in operation.fields]
        pieces += [operation.options.get("constraints", []), operation.options.get("indexes", [])]
    elif isinstance(operation, django_ops.AddField | django_ops.AlterField):
        pieces.append(_field_defaults(operation.field))
    elif isinstance(operation, django_ops.AddConstraint):
        pieces.append(operation.constraint)
    elif isinstance(operation, django_ops.AddIndex):
        pieces.append(operation.index)
    return set(_strings(deep_deconstruct(pieces)))


def _field_defaults(model_field) -> list:
    _name, _path, _args, kwargs = model_field.deconstruct()
    return [kwargs.get("default"), kwargs.get("db_default")]


def _strings(obj) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from _strings(item)
