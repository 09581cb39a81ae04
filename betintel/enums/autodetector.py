"""``makemigrations`` support: detect enum changes in the code and write enum operations (SPEC §5).

The rules come as ``EnumAutodetectorMixin``, to combine with any ``MigrationAutodetector``
(``EnumAutodetector`` is it on Django's). Enum state lives in the ``EnumField``\\ s
(``state.py``). When ``changes()`` is called, each type's change is planned first
(``plan_type_change``): renames are asked about, unsafe edits refused, reorders reported. The old
state's enum fields are then brought up to the new values, so Django writes no ``AlterField`` for
a change that only touches an enum type, and the enum operations are placed around Django's:
creations, additions, renames and deprecations before the fields that use them, removals and
drops after the last use is gone. A value added in a migration is never used in the same one:
such uses are moved into the next migration (PostgreSQL refuses a new value inside the
transaction that added it). Each value removal gets a migration of its own with
``atomic = False``, so its type swap can run online (``online/``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.core.management.base import CommandError
from django.db.migrations import Migration
from django.db.migrations import operations as django_ops
from django.db.migrations.autodetector import MigrationAutodetector, OperationDependency

from .conversion import ConvertFromEnumField, ConvertToEnumField, is_conversion
from .declared import DeclaredType
from .fields import base_enum_field
from .operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    DropEnumType,
    EnumOperation,
    RemoveEnumValue,
    RenameEnumValue,
)
from .questioner import EnumQuestioner, ask_rename_enum_value
from .state import alter_enum_fields, enum_fields, state_types

#: Where warnings about changes that write no operation go; our ``makemigrations`` prints them
#: on its stderr while it runs.
logger = logging.getLogger(__name__)

#: ``OperationDependency.type`` for "the operation that creates enum type ``model_name``".
ENUM_TYPE_CREATED = "enum_type_created"
#: ``OperationDependency.type`` for "the operation that adds value ``field_name`` to type
#: ``model_name``".
ENUM_VALUE_ADDED = "enum_value_added"

PROTOCOL = (
    "Enum values are never deleted or edited in place. Follow the protocol: (1) add the new "
    "value and release it; (2) move the rows to it; (3) mark the old member "
    "deprecated(label, replacement=<new value>) and run makemigrations, which writes "
    "DeprecateEnumValue; (4) in a later release delete the member, and makemigrations writes "
    "RemoveEnumValue."
)

Ask = Callable[[str, str, str], bool]


@dataclass
class TypeChange:
    """What makemigrations does for one enum type."""

    name: str
    #: Operations that go before the fields using the type (create, rename, add, deprecate).
    early: list[EnumOperation] = field(default_factory=list)
    #: Operations that go after the type's last use changed (remove a value, drop the type).
    late: list[EnumOperation] = field(default_factory=list)
    #: Values added by ``early``: operations using them wait for the next migration.
    added: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_type_change(old: DeclaredType | None, new: DeclaredType | None, ask: Ask) -> TypeChange:
    """The operations, refusals and warnings for one type between two states."""
    if old is None:
        change = TypeChange(new.name, early=[CreateEnumType(new.name, new.values)])
        change.early += [DeprecateEnumValue(new.name, v, r) for v, r in new.deprecated.items()]
        return change
    if new is None:
        return TypeChange(old.name, late=[DropEnumType(old.name, old.values)])
    change = TypeChange(new.name)
    renamed = _ask_renames(old, new, ask)
    change.early += [RenameEnumValue(new.name, a, b) for a, b in renamed.items()]
    present = [renamed.get(value, value) for value in old.values]
    change.added = [v for v in new.values if v not in present]
    change.early += _positioned_additions(new.name, present, new.values, change.added)
    was_deprecated = {
        renamed.get(value, value): renamed.get(repl, repl) for value, repl in old.deprecated.items()
    }
    for value, replacement in new.deprecated.items():
        if value not in was_deprecated or was_deprecated[value] != replacement:
            change.early.append(DeprecateEnumValue(new.name, value, replacement))
    for value in new.values:
        if value in was_deprecated and value not in new.deprecated:
            change.refusals.append(_undeprecated_message(new.name, value))
    for value in old.values:
        if value not in new.values and value not in renamed:
            _plan_removal(change, old, new, value, was_deprecated)
    kept = [renamed.get(v, v) for v in old.values if renamed.get(v, v) in new.values]
    if kept != [v for v in new.values if v in kept]:
        change.warnings.append(_reorder_message(new.name, kept, new.values))
    return change


def _ask_renames(old: DeclaredType, new: DeclaredType, ask: Ask) -> dict[str, str]:
    """``{old: new}`` for each non-deprecated value gone from the code that the user renamed."""
    gone = [v for v in old.values if v not in new.values and v not in old.deprecated]
    candidates = [v for v in new.values if v not in old.values]
    renamed: dict[str, str] = {}
    for value in gone:
        for candidate in candidates:
            if candidate not in renamed.values() and ask(new.name, value, candidate):
                renamed[value] = candidate
                break
    return renamed


def _positioned_additions(
    name: str, present: list[str], wanted: list[str], added: list[str]
) -> list[AddEnumValue]:
    """``AddEnumValue`` for each added value, placed before its successor in code order."""
    present = list(present)
    operations = []
    for index, value in enumerate(wanted):
        if value not in added:
            continue
        following = [v for v in wanted[index + 1 :] if v in present]
        before = following[0] if following else None
        operations.append(AddEnumValue(name, value, before=before))
        present.insert(present.index(before) if before else len(present), value)
    return operations


def _plan_removal(
    change: TypeChange, old: DeclaredType, new: DeclaredType, value: str, was_deprecated: dict
) -> None:
    if value not in old.deprecated:
        hint = ""
        if change.added:
            hint = (
                f" If {value!r} was edited to {' or '.join(map(repr, change.added))}, run "
                "makemigrations interactively and answer yes to 'Did you rename …?'; that "
                "writes RenameEnumValue."
            )
        change.refusals.append(
            f"Value {value!r} of enum type {change.name} is gone from the code but is not "
            f"deprecated, so makemigrations wrote nothing.{hint} {PROTOCOL}"
        )
        return
    replacement = was_deprecated[value]
    if replacement is not None and replacement not in new.values:
        change.refusals.append(
            f"Value {value!r} of enum type {change.name} is removed and its rows would move to "
            f"{replacement!r}, which is no longer a value of the type. Keep {replacement!r} in "
            f"the code, or first deprecate {value!r} with another replacement."
        )
        return
    change.late.append(RemoveEnumValue(change.name, value, replacement=replacement))


def _undeprecated_message(name: str, value: str) -> str:
    return (
        f"Value {value!r} of enum type {name} is deprecated in the migrations but no longer "
        "marked deprecated(...) in the code, and no operation undoes a released deprecation. "
        f"Mark {value!r} deprecated(...) again; if the deprecation was never released, "
        "unapply and delete the migration that deprecated it instead."
    )


def _reorder_message(name: str, database_order: list[str], code_order: list[str]) -> str:
    return (
        f"Members of enum type {name} are in another order in the code "
        f"({', '.join(code_order)}) than in the migrations ({', '.join(database_order)}). "
        "PostgreSQL cannot reorder enum values in place, so no migration is written for it; "
        "comparisons and ORDER BY on the column keep the migrations' order."
    )


class EnumAutodetectorMixin:
    """The enum rules of SPEC §5, for any subclass of Django's ``MigrationAutodetector``.

    Combine it with another autodetector by putting it first:
    ``class ProjectAutodetector(EnumAutodetectorMixin, OtherAutodetector)``, and set that class
    as ``autodetector`` on the project's ``makemigrations`` and ``migrate`` commands.
    """

    #: Before ``changes()`` plans them (or when Django's own tests call ``_detect_changes``
    #: directly), there are no enum changes and the autodetector is Django's.
    only_apps: set[str] = set()
    type_creators: dict[str, tuple[str, str]] = {}
    old_enum_types: dict[str, DeclaredType] = {}
    new_enum_types: dict[str, DeclaredType] = {}
    enum_changes: list[TypeChange] = []

    def __init__(self, from_state, to_state, questioner=None) -> None:
        # makemigrations always passes a questioner and refuses unsafe enum edits; migrate's
        # after-the-fact check passes none, and there an unsafe edit is reported as pending.
        self.refuse_unsafe = questioner is not None
        super().__init__(from_state, to_state, questioner or EnumQuestioner())

    def report(self, message: str) -> None:
        """Tell the person running makemigrations about a change that writes no operation."""
        logger.warning(message)

    def changes(self, graph, trim_to_apps=None, convert_apps=None, migration_name=None):
        """Plan the enum changes, then let Django detect the rest against the updated state."""
        self.only_apps = set(trim_to_apps or ())
        self.type_creators = _type_creators(graph)
        # Types of unmanaged models (managed = False) belong to someone else: never touched.
        self.old_enum_types = state_types(self.from_state, managed_only=True)
        self.new_enum_types = state_types(self.to_state, managed_only=True)
        self.enum_changes = self.plan_enum_changes()
        self._owners: dict[str, str] = {}  # owner() asks for each operation Django adds
        self.from_state = self.from_state.clone()
        for change in self.enum_changes:
            new = self.new_enum_types.get(change.name)
            if change.name in self.old_enum_types and new is not None and not change.refusals:
                alter_enum_fields(self.from_state, change.name, _bring_to(new))
        return super().changes(graph, trim_to_apps, convert_apps, migration_name)

    def plan_enum_changes(self) -> list[TypeChange]:
        """Plan every type; raise the refusals (as one ``CommandError``) if there are any."""
        changes = []
        for name in sorted(self.old_enum_types.keys() | self.new_enum_types.keys()):
            old, new = self.old_enum_types.get(name), self.new_enum_types.get(name)
            in_scope = self._in_scope(old, new)
            ask = partial(ask_rename_enum_value, self.questioner) if in_scope else _never
            change = plan_type_change(old, new, ask)
            change.refusals += self._conflicting_declarations(name)
            if in_scope:
                for warning in change.warnings:
                    self.report(warning)
            changes.append(change)
        refusals = [r for c in changes if self._in_scope_name(c.name) for r in c.refusals]
        if refusals and self.refuse_unsafe:
            raise CommandError("\n\n".join(refusals))
        return changes

    def _in_scope(self, old: DeclaredType | None, new: DeclaredType | None) -> bool:
        """Whether makemigrations was asked about an app that uses this type."""
        if not self.only_apps:
            return True
        apps = {app for state in (old, new) if state for app, _m, _f in state.fields}
        return bool(apps & self.only_apps)

    def _in_scope_name(self, name: str) -> bool:
        return self._in_scope(self.old_enum_types.get(name), self.new_enum_types.get(name))

    def _conflicting_declarations(self, name: str) -> list[str]:
        """A refusal when the code's fields disagree on the values of type ``name``."""
        declared: dict[tuple, list[str]] = {}
        for app_label, model_name, field_name, enum_field in enum_fields(self.to_state):
            if enum_field.enum_type_name == name:
                key = (tuple(enum_field.enum_values), tuple(enum_field.enum_deprecated.items()))
                declared.setdefault(key, []).append(f"{app_label}.{model_name}.{field_name}")
        if len(declared) < 2:
            return []
        described = "; ".join(
            f"{', '.join(users)} with values {list(values)}"
            for (values, _deprecated), users in declared.items()
        )
        return [
            f"Enum type {name} is declared with different values by {described}. One type name "
            "belongs to one choices class: give the other fields their own type_name, or the "
            "same choices class."
        ]

    def owner(self, name: str) -> str:
        """The app whose migrations hold the operations on type ``name``."""
        owners = vars(self).setdefault("_owners", {})
        if name not in owners:
            owners[name] = self._find_owner(name)
        return owners[name]

    def _find_owner(self, name: str) -> str:
        creator = self.type_creators.get(name)
        apps = {app for app, _model in self.from_state.models} | {
            app for app, _model in self.to_state.models
        }
        if creator is not None and creator[0] in apps:
            return creator[0]
        state = self.old_enum_types.get(name) or self.new_enum_types[name]
        return state.fields[0][0]

    def add_operation(self, app_label, operation, dependencies=None, beginning=False):
        """Django's, with character/enum conversions and the uses of new types and values."""
        if type(operation) is django_ops.AlterField:
            operation = self._as_conversion(app_label, operation)
        dependencies = list(dependencies or [])
        dependencies += [d for d in self._enum_dependencies(operation) if d not in dependencies]
        super().add_operation(app_label, operation, dependencies, beginning)

    def _as_conversion(self, app_label: str, operation: django_ops.AlterField):
        """A field moving between a character type and an enum type is converted with
        ``USING`` (and its rows checked first); Django's own ``AlterField`` would fail."""
        model_name = operation.model_name_lower
        old_model = self.renamed_models.get((app_label, model_name), model_name)
        old_name = self.renamed_fields.get((app_label, model_name, operation.name), operation.name)
        old_field = self.from_state.models[app_label, old_model].get_field(old_name)
        if not is_conversion(old_field, operation.field):
            return operation
        convert = ConvertToEnumField if base_enum_field(operation.field) else ConvertFromEnumField
        return convert(
            model_name=operation.model_name,
            name=operation.name,
            field=operation.field,
            preserve_default=operation.preserve_default,
        )

    # Placing the enum operations ------------------------------------------------------------

    def _sort_migrations(self):
        # Django's last look at each app's whole list before cutting it, with no public hook:
        # the enum operations go before and after its sorted operations, in the planned order.
        super()._sort_migrations()
        placed = self._placed()
        for change in reversed(placed):
            for operation in reversed(change.early):
                self.add_operation(self.owner(change.name), operation, beginning=True)
        for change in placed:
            for operation in change.late:
                dependencies = None
                if isinstance(operation, DropEnumType):
                    dependencies = self._last_use_dependencies(change.name)
                self.add_operation(self.owner(change.name), operation, dependencies)

    def _placed(self) -> list[TypeChange]:
        """The planned changes that get operations."""
        # Refused types are left to Django: its AlterField shows that something is pending.
        return [change for change in self.enum_changes if not change.refusals]

    def _enum_dependencies(self, operation) -> list[OperationDependency]:
        """What ``operation`` uses of the types created and values added in this run."""
        dependencies = []
        types = _field_types(operation)
        used = None
        for change in self._placed():
            owner = self.owner(change.name)
            if change.name not in self.old_enum_types and change.name in types:
                dependencies.append(
                    OperationDependency(owner, change.name, None, ENUM_TYPE_CREATED)
                )
            if change.added:
                if used is None:
                    used = _values_used_by(operation, self.deep_deconstruct)
                dependencies += [
                    OperationDependency(owner, change.name, value, ENUM_VALUE_ADDED)
                    for value in change.added
                    if value in used
                ]
        return dependencies

    def _last_use_dependencies(self, name: str) -> list[OperationDependency]:
        """The removals (or alterations) of every field that used type ``name``."""
        dependencies = []
        for app_label, model_name, field_name in self.old_enum_types[name].fields:
            model_state = self.to_state.models.get((app_label, model_name))
            if model_state is None:
                kind, field_name = OperationDependency.Type.REMOVE, None
            elif field_name not in model_state.fields:
                kind = OperationDependency.Type.REMOVE
            else:
                kind = OperationDependency.Type.ALTER
            dependencies.append(OperationDependency(app_label, model_name, field_name, kind))
        return dependencies

    def check_dependency(self, operation, dependency):
        if dependency.type == ENUM_TYPE_CREATED:
            return isinstance(operation, CreateEnumType) and operation.name == dependency.model_name
        if dependency.type == ENUM_VALUE_ADDED:
            return (
                isinstance(operation, AddEnumValue)
                and operation.name == dependency.model_name
                and operation.value == dependency.field_name
            )
        return super().check_dependency(operation, dependency)

    # Cutting migrations -----------------------------------------------------------------------

    def _build_migration_list(self, graph=None):
        # Where Django cuts the operations into migrations (no public hook): a value added is
        # used in the next migration only, and each removal gets a non-atomic one of its own.
        super()._build_migration_list(graph)
        for app_label, migrations in self.migrations.items():
            self.migrations[app_label] = [
                part
                for migration in migrations
                for split in _split_new_value_uses(migration)
                for part in _removals_on_their_own(split)
            ]
            for migration in self.migrations[app_label]:
                self._depend_on_type_creators(migration)

    def _depend_on_type_creators(self, migration: Migration) -> None:
        """Depend on the other app's migration that created each type this one touches."""
        for operation in migration.operations:
            for name in _types_touched(operation):
                creator = self.type_creators.get(name)
                if (
                    creator is not None
                    and creator[0] != migration.app_label
                    and creator not in migration.dependencies
                ):
                    migration.dependencies.append(creator)


class EnumAutodetector(EnumAutodetectorMixin, MigrationAutodetector):
    """Django's autodetector, plus the enum rules of SPEC §5."""


def _bring_to(new: DeclaredType) -> Callable:
    return lambda _values, _deprecated: (list(new.values), dict(new.deprecated))


def _never(*_args) -> bool:
    return False


def _type_creators(graph) -> dict[str, tuple[str, str]]:
    """``{type name: (app_label, migration name)}`` of the migrations that create each type."""
    creators: dict[str, tuple[str, str]] = {}
    if graph is None:
        return creators
    for key in sorted(graph.nodes):
        for operation in getattr(graph.nodes[key], "operations", []):
            if isinstance(operation, CreateEnumType):
                creators[operation.name] = key
    return creators


def _split_new_value_uses(migration: Migration) -> list[Migration]:
    """``[migration]``, or two migrations when it would add a value and use it."""
    operations = migration.operations
    added = {(op.name, op.value) for op in operations if isinstance(op, AddEnumValue)}
    users = {
        id(op)
        for op in operations
        if any(
            dep.type == ENUM_VALUE_ADDED and (dep.model_name, dep.field_name) in added
            # Django keeps what add_operation() was given there, and nowhere public.
            for dep in getattr(op, "_auto_deps", ())
        )
    }
    if not users:
        return [migration]
    last_add = max(i for i, op in enumerate(operations) if isinstance(op, AddEnumValue))
    first_ops = [op for op in operations[: last_add + 1] if id(op) not in users]
    taken = {id(op) for op in first_ops}
    first = _part(migration, "values", first_ops)
    first.initial = migration.initial
    migration.operations = [op for op in operations if id(op) not in taken]
    return [first, migration]


def _removals_on_their_own(migration: Migration) -> list[Migration]:
    """Each ``RemoveEnumValue`` in a non-atomic migration of its own, so that its type swap can
    run online (SPEC §4a); the other operations keep their order around it.

    The last part is ``migration`` itself, so that what depends on it still depends on all.
    """
    groups: list[list] = []
    for operation in migration.operations:
        if isinstance(operation, RemoveEnumValue) or not groups or _is_removal(groups[-1]):
            groups.append([operation])
        else:
            groups[-1].append(operation)
    if not any(_is_removal(group) for group in groups):
        return [migration]
    parts = []
    for number, group in enumerate(groups[:-1], start=1):
        part = _part(migration, str(number), group)
        part.initial = migration.initial and number == 1
        part.atomic = not _is_removal(group)
        parts.append(part)
    migration.operations = groups[-1]
    migration.initial = migration.initial and not parts
    migration.atomic = not _is_removal(groups[-1])
    return [*parts, migration]


def _part(migration: Migration, suffix: str, operations: list) -> Migration:
    """A migration cut from ``migration``, before it and with the same dependencies."""
    part = Migration(f"{migration.name}_{suffix}", migration.app_label)
    part.operations = operations
    part.dependencies = list(migration.dependencies)
    return part


def _is_removal(operations: list) -> bool:
    return len(operations) == 1 and isinstance(operations[0], RemoveEnumValue)


def _field_types(operation) -> set[str]:
    """Enum types of the fields a Django field/model operation creates or alters."""
    return {field.enum_type_name for field in _enum_fields_of(operation)}


def _types_touched(operation) -> set[str]:
    """Enum types an operation needs to exist already."""
    if isinstance(operation, CreateEnumType):
        return set()
    if isinstance(operation, EnumOperation):
        return {operation.name}
    return _field_types(operation)


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


def _values_used_by(operation, deep_deconstruct: Callable) -> set[str]:
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
