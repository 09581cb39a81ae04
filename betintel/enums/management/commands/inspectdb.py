"""``inspectdb`` that knows native enum types (SPEC §4b).

Django's own command writes a guessed ``TextField`` for a column of an enum type. Here each enum
type met becomes one ``TextChoices`` class (``choices_source.py``), and its columns
``EnumField(<Class>, type_name=...)``, or ``ArrayField(EnumField(...))`` for arrays of it. A type
used by several columns or tables gets one class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.management.commands import inspectdb
from django.db import connections

from betintel.enums.choices_source import choices_class_source, class_name
from betintel.enums.introspection import every_enum_type

# Django writes ``<att> = <field_type>(<params>)``; a field type with a dot is written as it is.
# These markers stand for the enum fields until the classes have their names.
_MARKER = re.compile(r"= __betintel_(?P<kind>enum|array)__\.(?P<oid>\d+)\((?P<empty>\))?")

@dataclass
class _EnumType:
    oid: int
    name: str
    labels: list[str]
    class_name: str = ""
    used: bool = False


@dataclass
class _Found:
    by_oid: dict[int, _EnumType] = field(default_factory=dict)
    arrays: dict[int, _EnumType] = field(default_factory=dict)
    any_array: bool = False


class Command(inspectdb.Command):
    help = (
        inspectdb.Command.help
        + " Columns of native PostgreSQL enum types become EnumFields (ArrayField(EnumField) "
        "for arrays), each type with a TextChoices class of its labels."
    )

    def handle_inspection(self, options):
        connection = connections[options["database"]]
        self._enums = _Found()
        if connection.vendor == "postgresql":
            self._enums = _enum_types(connection)
        lines = list(super().handle_inspection(options))
        if not any(enum_type.used for enum_type in self._enums.by_oid.values()):
            yield from lines
            return
        yield from self._with_enums(lines)

    def get_field_type(self, connection, table_name, row):
        enums = getattr(self, "_enums", None)
        if enums is not None:
            for kind, found in (("enum", enums.by_oid), ("array", enums.arrays)):
                enum_type = found.get(row.type_code)
                if enum_type is not None:
                    enum_type.used = True
                    enums.any_array = enums.any_array or kind == "array"
                    return f"__betintel_{kind}__.{enum_type.oid}", {}, []
        return super().get_field_type(connection, table_name, row)

    def _with_enums(self, lines: list[str]):
        """The module with the imports, the choices classes and the enum fields written out."""
        models = {m.group(1) for line in lines if (m := re.match(r"class (\w+)\(", line))}
        used = sorted(
            (t for t in self._enums.by_oid.values() if t.used), key=lambda t: t.name
        )
        for enum_type in used:
            enum_type.class_name = class_name(enum_type.name, models)
            models.add(enum_type.class_name)
        for line in lines:
            if line.startswith("from ") and line.endswith(" import models"):
                if self._enums.any_array:
                    yield "from django.contrib.postgres.fields import ArrayField"
                yield line
                yield ""
                yield "from betintel.enums import EnumField"
                for enum_type in used:
                    yield ""
                    yield ""
                    yield from choices_class_source(enum_type.class_name, enum_type.labels)
            else:
                yield _MARKER.sub(self._field_call, line)

    def _field_call(self, match: re.Match) -> str:
        enum_type = self._enums.by_oid[int(match["oid"])]
        call = f"EnumField({enum_type.class_name}, type_name={enum_type.name!r})"
        if match["kind"] == "array":
            call = f"ArrayField({call}"
            return f"= {call})" if match["empty"] else f"= {call}, "
        call = call[:-1]
        return f"= {call})" if match["empty"] else f"= {call}, "


def _enum_types(connection) -> _Found:
    """Every enum type the database has, by its oid and by the oid of its array type."""
    found = _Found()
    for existing in every_enum_type(connection):
        enum_type = _EnumType(existing.oid, existing.name, list(existing.values))
        found.by_oid[existing.oid] = enum_type
        found.arrays[existing.array_oid] = enum_type
    return found
