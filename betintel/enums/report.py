"""The enum status report: every enum type in the code and in the database, side by side.

Built as data, so ``manage.py enum_status``, the admin's "Enum status" page and the API all
show the same thing. Drift (the code and the database disagree) makes the report not ``ok``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, connections, router

from . import conf, introspection, online
from .choices import MemberState
from .counts import AUTO, NONE, ColumnCounts, count_values
from .declared import DeclaredType, declared_type
from .fields import base_enum_field, model_enum_fields
from .introspection import Column, EnumType, enum_columns


def code_types(using: str | None = None, app_registry=None) -> dict[str, DeclaredType]:
    """Every enum type the installed models use (ArrayField bases too), by type name.

    With ``using``, only models that the routers let migrate to that database count.
    """
    registry = app_registry or global_apps
    types: dict[str, DeclaredType] = {}
    models = [
        model
        for model in registry.get_models()
        if using is None or router.allow_migrate_model(using, model)
    ]
    for model, model_field, enum_field in model_enum_fields(models):
        declared = declared_type(enum_field)
        entry = types.setdefault(declared.name, declared)
        entry.fields.append(_field_ref(model, model_field))
        if declared.choices != entry.choices and declared.choices not in entry.other_choices:
            entry.other_choices.append(declared.choices)
    return types


def _field_ref(model, model_field) -> tuple[str, str, str]:
    return (model._meta.app_label, model._meta.object_name, model_field.name)


@dataclass
class ValueReport:
    """One value of a type: where it exists, its state and how many rows hold it."""

    value: str
    label: str | None
    in_code: bool
    in_db: bool
    state: str
    flag: str | None
    flag_on: bool | None
    rows: int | None
    rows_estimated: bool
    replacement: str | None = None

    def rows_text(self, approx: str = "≈ ", unknown: str = "unknown", absent: str = "—") -> str:
        """The row count for people: ``12``, ``≈ 3,400,000``, ``unknown`` (an estimate with no
        statistics) or ``—`` (not counted); the marks are the caller's."""
        if self.rows is None:
            return unknown if self.rows_estimated else absent
        return f"{approx if self.rows_estimated else ''}{self.rows:,}"

    @property
    def rows_display(self) -> str:
        """The row count as web pages show it."""
        return self.rows_text()

    def as_dict(self) -> dict:
        return {
            "value": self.value, "label": self.label, "in_code": self.in_code,
            "in_db": self.in_db, "state": self.state, "flag": self.flag,
            "flag_on": self.flag_on, "rows": self.rows, "rows_estimated": self.rows_estimated,
        }


@dataclass
class TypeReport:
    """One enum type: its columns, its values, and where code and database disagree."""

    type: str
    choices: str | None
    columns: list[str]
    values: list[ValueReport]
    warnings: list[str]
    drift: list[str]
    fields: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drift

    @property
    def any_estimated(self) -> bool:
        return any(value.rows_estimated for value in self.values)

    def as_dict(self) -> dict:
        return {
            "type": self.type, "choices": self.choices, "columns": list(self.columns),
            "values": [value.as_dict() for value in self.values],
            "warnings": list(self.warnings), "drift": list(self.drift),
        }


@dataclass
class StatusReport:
    """The whole report for one database."""

    database: str
    enums: list[TypeReport]
    feature_flags: frozenset[str]
    counts: str

    @property
    def ok(self) -> bool:
        return all(entry.ok for entry in self.enums)

    @property
    def drift(self) -> list[str]:
        return [problem for entry in self.enums for problem in entry.drift]

    def as_dict(self) -> dict:
        """The ``--json`` document (SPEC §7)."""
        return {
            "database": self.database, "ok": self.ok,
            "enums": [entry.as_dict() for entry in self.enums],
        }


def build_report(
    using: str = DEFAULT_DB_ALIAS, counts: str = AUTO, app_registry=None
) -> StatusReport:
    """Compare the enum types of the code with those of database ``using``."""
    connection = connections[using]
    code = code_types(using, app_registry)
    # The types and columns of an online swap under way are its own: reported on the old type.
    database = {
        name: found for name, found in introspection.enum_types(connection).items()
        if not name.startswith(online.PREFIX)
    }
    columns = enum_columns(connection)
    swaps = online.under_way(connection)
    conversions = online.conversions_under_way(connection)
    names = sorted(set(code) | set(database))
    wanted = {
        column: _all_values(code.get(name), database.get(name))
        for name in names
        for column in columns.get(name, [])
    }
    counted = count_values(connection, wanted, counts)
    flags = conf.feature_flags()
    enums = [
        compare_type(
            TypeSources(
                name, code.get(name), database.get(name), columns.get(name, []), counted, flags,
                counts,
            )
        )
        for name in names
    ]
    for entry in enums:
        entry.warnings.extend(swap_warnings(entry.type, swaps, conversions))
    return StatusReport(using, enums, flags, counts)


def swap_warnings(
    name: str, swaps: dict[str, dict], conversions: dict[str, dict] | None = None
) -> list[str]:
    """A warning for each online swap of type ``name``, or online conversion of a column to or
    from it, left unfinished."""
    warnings = []
    state = swaps.get(name)
    if state is not None:
        moved = f", rows moving to {state['replacement']!r}" if state.get("replacement") else ""
        warnings.append(
            f"An online type swap of {name} is under way (removing {state.get('value')!r}"
            f"{moved}; step: {state.get('step')}). The tables stay usable; run manage.py "
            "migrate to resume and finish it."
        )
    for column, state in sorted((conversions or {}).items()):
        if state.get("type") == name:
            warnings.append(
                f"An online conversion of column {column} to {state.get('target')} is under way "
                f"(step: {state.get('step')}). The table stays usable; run manage.py migrate to "
                "resume and finish it."
            )
    return warnings


def field_report(
    model, field_name: str, using: str | None = None, counts: str = AUTO
) -> TypeReport:
    """The report of one model field's type, with the rows of that field's column only."""
    using = using or router.db_for_read(model)
    model_field = model._meta.get_field(field_name)
    declared = declared_type(base_enum_field(model_field))
    connection = connections[using]
    database = introspection.enum_type(connection, declared.name)
    columns = [
        column
        for column in enum_columns(connection).get(declared.name, [])
        if column.table == model._meta.db_table and column.name == model_field.column
    ]
    values = _all_values(declared, database)
    counted = count_values(connection, dict.fromkeys(columns, values), counts)
    declared.fields.append(_field_ref(model, model_field))
    entry = compare_type(
        TypeSources(
            declared.name, declared, database, columns, counted, conf.feature_flags(), counts
        )
    )
    entry.warnings.extend(swap_warnings(declared.name, online.under_way(connection),
                                        online.conversions_under_way(connection)))
    return entry


def _all_values(code: DeclaredType | None, database: EnumType | None) -> list[str]:
    return merged_values(
        code.values if code else [],
        list(database.values) if database else [],
    )


def merged_values(code_values: list[str], db_values: list[str]) -> list[str]:
    """The database's order, with values only the code has placed after their predecessor."""
    merged = list(db_values)
    previous = None
    for value in code_values:
        if value not in merged:
            merged.insert(merged.index(previous) + 1 if previous is not None else 0, value)
        previous = value
    return merged


@dataclass
class TypeSources:
    """What one type's report is built from: the code's and the database's view of the type,
    its columns with their counted rows, the feature flags on and the counting mode."""

    name: str
    code: DeclaredType | None
    database: EnumType | None
    columns: list[Column]
    counted: dict[Column, ColumnCounts]
    flags: frozenset[str]
    counts: str = AUTO

    @cached_property
    def recorded(self) -> dict[str, str | None]:
        """The deprecations the database records in the type's comment."""
        database = self.database
        return introspection.recorded_deprecations(database.comment) if database else {}

    @property
    def where(self) -> str:
        """Where the code declares the type: its choices class, or the fields using it."""
        return self.code.choices or ", ".join(self.code.field_labels)


def compare_type(sources: TypeSources) -> TypeReport:
    """Build one type's report: values side by side, drift and warnings."""
    code = sources.code
    return TypeReport(
        type=sources.name,
        choices=code.choices if code else None,
        columns=[column.label for column in sources.columns],
        values=[
            _value_report(sources, value) for value in _all_values(code, sources.database)
        ],
        warnings=_warnings(sources),
        drift=_drift(sources),
        fields=code.field_labels if code else [],
    )


def _value_report(sources: TypeSources, value: str) -> ValueReport:
    member = sources.code.member(value) if sources.code else None
    if member is not None:
        state, label, flag = member.state, member.label, member.flag
        replacement = member.replacement
    else:
        recorded = sources.recorded
        state = MemberState.DEPRECATED if value in recorded else MemberState.ACTIVE
        label, flag, replacement = None, None, recorded.get(value)
    rows: int | None = None if sources.counts == NONE else 0
    for column in sources.columns:
        found = sources.counted[column].rows.get(value)
        rows = None if rows is None or found is None else rows + found
    return ValueReport(
        value=value,
        label=label,
        in_code=member is not None,
        in_db=sources.database is not None and value in sources.database.values,
        state=state,
        flag=flag,
        flag_on=(flag in sources.flags) if flag else None,
        rows=rows,
        rows_estimated=any(sources.counted[column].estimated for column in sources.columns),
        replacement=replacement,
    )


def _drift(sources: TypeSources) -> list[str]:
    """Where code and database disagree about what exists or what is deprecated."""
    name, code, database = sources.name, sources.code, sources.database
    if code is None:
        return [
            f"Type {name} exists in the database but no model uses it: its values "
            f"{', '.join(database.values)} are unknown to the code. Declare it on a model's "
            "EnumField, or drop it with a DropEnumType migration."
        ]
    if database is None:
        return [
            f"Type {name} is used by {', '.join(code.field_labels)} but does not exist in the "
            "database. Apply the migration that creates it (manage.py migrate), or write it "
            "with manage.py makemigrations."
        ]
    where = sources.where
    problems = []
    for member in code.members:
        if member.value not in database.values:
            problems.append(
                f"Value {member.value!r} of type {name} is in the code ({where}) but not in "
                "the database. Apply the migration that adds it (manage.py migrate), or write "
                "it with manage.py makemigrations."
            )
    for value in database.values:
        if code.member(value) is None:
            problems.append(
                f"Value {value!r} of type {name} is in the database but unknown to the code "
                f"({where}). Add it to the choices class, or retire it with a migration "
                "(DeprecateEnumValue, then RemoveEnumValue)."
            )
    problems.extend(_deprecation_drift(sources))
    return problems


def _deprecation_drift(sources: TypeSources) -> list[str]:
    name, where, recorded = sources.name, sources.where, sources.recorded
    problems = []
    for member in sources.code.members:
        if member.value not in sources.database.values:
            continue
        if member.deprecated and member.value not in recorded:
            problems.append(
                f"Value {member.value!r} of type {name} is deprecated in the code ({where}) "
                "but not in the database. Apply its DeprecateEnumValue migration "
                "(manage.py makemigrations, then migrate)."
            )
        elif not member.deprecated and member.value in recorded:
            problems.append(
                f"Value {member.value!r} of type {name} is recorded as deprecated in the "
                f"database but not in the code ({where}). Mark it deprecated(...) in the code, "
                "or reverse the migration that deprecated it."
            )
        elif member.deprecated and recorded[member.value] != member.replacement:
            problems.append(
                f"Value {member.value!r} of type {name} is deprecated with replacement "
                f"{member.replacement!r} in the code but {recorded[member.value]!r} in the "
                "database. Make them agree with a DeprecateEnumValue migration."
            )
    return problems


def _warnings(sources: TypeSources) -> list[str]:
    name, code, database = sources.name, sources.code, sources.database
    warnings = []
    if code and database:
        in_code = [value for value in code.values if value in database.values]
        in_db = [value for value in database.values if code.member(value) is not None]
        if in_code != in_db:
            warnings.append(
                f"Values of type {name} are ordered differently in the code "
                f"({', '.join(in_code)}) and in the database ({', '.join(in_db)}); ORDER BY "
                "and comparisons follow the database. Reorder the members if that matters."
            )
    if code and code.other_choices:
        warnings.append(
            f"Type {name} is declared by several choices classes ({code.choices}, "
            f"{', '.join(code.other_choices)}); bind one type to one class."
        )
    for column in sources.columns:
        if sources.counted[column].unanalysed:
            table = column.label.rsplit(".", 1)[0]
            warnings.append(
                f"Table {table} has no planner statistics yet (never analysed), so the rows of "
                f"{column.label} are unknown. Run ANALYZE {table}, or ask for exact counts."
            )
    return warnings
