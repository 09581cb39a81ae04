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
transaction that added it). Each operation whose work can run online — a value removal's type
swap, a column's conversion between a character type and an enum type — gets a migration of
its own with ``atomic = False``, since only there does it run online on a big table
(``online/``); what it needs comes in an earlier migration, what follows it in a later one.

The mixin (here) hooks into Django's autodetector; what it decides lives beside it:

- ``planning``: one type's change (``TypeChange``), its refusals and warnings;
- ``dependencies``: what an operation needs from the same run (a type created, a value
  added), and which migration created each type;
- ``splitting``: cutting Django's migrations around a new value's uses and around each
  operation that can run online.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.core.management.base import CommandError
from django.db.migrations import Migration
from django.db.migrations import operations as django_ops
from django.db.migrations.autodetector import MigrationAutodetector, OperationDependency

from ..conversion import ConvertFromEnumField, ConvertToEnumField, is_conversion
from ..declared import DeclaredType
from ..fields import base_enum_field
from ..operations import AddEnumValue, CreateEnumType, DropEnumType
from ..questioner import EnumQuestioner, ask_rename_enum_value
from ..state import alter_enum_fields, state_types
from .dependencies import (
    ENUM_TYPE_CREATED,
    ENUM_VALUE_ADDED,
    field_types,
    type_creators_in,
    types_touched,
    values_used_by,
)
from .planning import TypeChange, conflicting_declarations, plan_type_change
from .splitting import online_capable_on_their_own, split_new_value_uses

#: Where warnings about changes that write no operation go; our ``makemigrations`` prints them
#: on its stderr while it runs.
logger = logging.getLogger(__name__)


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
        self.type_creators = type_creators_in(graph)
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
            change.refusals += conflicting_declarations(self.to_state, name)
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
        types = field_types(operation)
        used = None
        for change in self._placed():
            owner = self.owner(change.name)
            if change.name not in self.old_enum_types and change.name in types:
                dependencies.append(
                    OperationDependency(owner, change.name, None, ENUM_TYPE_CREATED)
                )
            if change.added:
                if used is None:
                    used = values_used_by(operation, self.deep_deconstruct)
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
        # used in the next migration only, and each operation that can run online (a removal,
        # a conversion) gets a non-atomic one of its own.
        super()._build_migration_list(graph)
        for app_label, migrations in self.migrations.items():
            self.migrations[app_label] = [
                part
                for migration in migrations
                for split in split_new_value_uses(migration)
                for part in online_capable_on_their_own(split)
            ]
            for migration in self.migrations[app_label]:
                self._depend_on_type_creators(migration)

    def _depend_on_type_creators(self, migration: Migration) -> None:
        """Depend on the other app's migration that created each type this one touches."""
        for operation in migration.operations:
            for name in types_touched(operation):
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
