"""System checks of the enum engine (SPEC §6).

A member has two labels: its value (``"h2h"``, what PostgreSQL calls the enum label) and its
display label (``"Moneyline"``). Python already refuses two members with one value. Ids are
stable:

- ``enums.E001`` a member's value or display label is empty.
- ``enums.E002`` two members of a choices class have the same display label.
- ``enums.E003`` a value is longer than 63 bytes in UTF-8 (PostgreSQL's limit for labels).
- ``enums.E004`` a type name is not a valid identifier.
- ``enums.E005`` a type name is longer than 63 bytes in UTF-8.
- ``enums.E006`` one type name is bound to more than one choices class.
- ``enums.E007`` ``deprecated(replacement=…)`` names no member of the class.
- ``enums.E008`` ``deprecated(replacement=…)`` names a member that is itself deprecated.
- ``enums.E009`` ``flagged(flag=…)`` with an empty flag name.
- ``enums.E010`` a database that models with enum fields migrate to is not PostgreSQL.
- ``enums.E011`` a migration's ``RunSQL`` alters, drops, renames or moves a managed enum type.
- ``enums.E012`` a migration's ``RunSQL`` writes the catalog ``pg_enum``.
- ``enums.E013`` an ``exhaustive(...)`` mapping misses non-deprecated members.
- ``enums.E014`` a value holds a NUL byte (PostgreSQL cannot store it in an enum label).
- ``enums.E015`` an engine setting (``ENUM_LOCK_TIMEOUT``, ``ENUM_SWAP``, …) cannot be parsed.
- ``enums.E016`` ``ENUM_LOCK_TIMEOUT`` is 0, which would let a migration wait forever.
- ``enums.W001`` a migration's ``RunSQL`` cannot be parsed, so it was not checked.
- ``enums.W002`` a migration's ``RunSQL`` replaces the comment of a managed enum type (where
  deprecations are recorded).
- ``enums.W003`` an ``exhaustive(...)`` mapping has keys that are no member's value.
- ``enums.W004`` a migration's ``RunSQL`` builds SQL at run time (``EXECUTE`` in a ``DO`` block
  or a function body) or runs code of another procedural language, so its effect cannot be
  verified. The plain statements of PL/pgSQL and SQL code are checked like any other.
- ``enums.W005`` a check of the engine could not run; Django's own checks or commands report
  what stops it.

Checks report; they never raise. A check that meets something it cannot evaluate (a migration
module that does not import, a choices class it cannot read) warns with ``enums.W005`` and
leaves the real report to Django, whose checks must still run.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterator

from django.apps import apps
from django.core import checks
from django.db import connections, router

from . import conf, migration_sql
from .choices import ChoicesDescription, choices_path, describe
from .exhaustive import registry as exhaustive_registry
from .fields import MAX_NAME_BYTES, model_enum_fields
from .operations import CreateEnumType

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


#: The hint of each check whose advice does not depend on what it found.
_HINTS = {
    "enums.E001": "Give every member a non-empty value (PostgreSQL refuses empty enum "
        "labels) and a display label people can read.",
    "enums.E002": "Give each member its own display label.",
    "enums.E003": "Shorten the value; the display label can stay as long as you like.",
    "enums.E004": "Use letters, digits and underscores, starting with a letter, "
        "e.g. type_name='bet_type_enum'.",
    "enums.E005": "Pass a shorter type_name= to the EnumField.",
    "enums.E006": "One type name belongs to one choices class: use the same class in "
        "every field of the type, or give the others their own type_name.",
    "enums.E007": "Name an existing, non-deprecated member as the replacement.",
    "enums.E008": "Name a member that is not deprecated as the replacement.",
    "enums.E009": "Pass the feature flag that enables it: flagged(label, flag='enable_x').",
    "enums.E013": "Add an entry for each missing value (deprecated members may be left "
        "out), so the code that branches on it handles every value.",
    "enums.E014": "Remove the NUL character (\\x00) from the value; the display label can "
        "stay as it is.",
}


def _error(check_id: str, obj: object, message: str) -> checks.Error:
    return checks.Error(message, hint=_HINTS[check_id], obj=obj, id=check_id)


def enum_fields_in_code(app_configs=None) -> Iterator[tuple]:
    """``(model field, EnumField)`` of every concrete model field backed by an enum type."""
    configs = app_configs if app_configs is not None else apps.get_app_configs()
    models = [model for config in configs for model in config.get_models()]
    for _model, model_field, enum_field in model_enum_fields(models):
        yield model_field, enum_field


def never_raises(check: Callable[..., list]) -> Callable[..., list]:
    """Run ``check``; whatever it cannot evaluate becomes an ``enums.W005`` warning, not a crash.

    An exception in one check would stop ``check``, ``runserver`` and ``migrate`` before Django
    reports anything, hiding the very problem (often reported by Django's own checks) that
    made this one fail.
    """

    @functools.wraps(check)
    def run(*args, **kwargs) -> list[checks.CheckMessage]:
        try:
            return check(*args, **kwargs)
        except Exception as error:
            return [
                checks.Warning(
                    f"The enum check {check.__name__} could not run "
                    f"({type(error).__name__}: {error}), so its findings are missing.",
                    hint="Fix the problem Django reports (its own checks, or migrate and "
                    "makemigrations); then run manage.py check again.",
                    obj=check.__name__,
                    id="enums.W005",
                )
            ]

    return run


@checks.register(checks.Tags.models)
@never_raises
def check_members(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E001–E003, E007–E009, E014: the members of each choices class used by an EnumField."""
    users: dict[type, list[str]] = {}
    for model_field, enum_field in enum_fields_in_code(app_configs):
        if enum_field.choices_class is not None:
            where = f"{model_field.model._meta.label}.{model_field.name}"
            users.setdefault(enum_field.choices_class, []).append(where)
    errors: list[checks.CheckMessage] = []
    for choices_class in sorted(users, key=choices_path):
        described = describe(choices_class)
        errors += _label_errors(described, users[choices_class])
        errors += _marker_errors(described)
    return errors


def _label_errors(described: ChoicesDescription, users: list[str]) -> list[checks.CheckMessage]:
    name, errors = described.path, []
    shown: dict[str, str] = {}
    for member in described.members:
        if "\x00" in member.value:
            errors.append(_error(
                "enums.E014", name,
                f"The value {member.value!r} of {name}.{member.name} (used by "
                f"{', '.join(users)}) holds a NUL byte, which PostgreSQL cannot store in an "
                "enum label: migrate would fail on it.",
            ))
        label = member.label
        if member.value == "" or not label.strip():
            what = "value" if member.value == "" else "display label"
            errors.append(_error(
                "enums.E001", name,
                f"Member {member.name} of {name} has an empty {what}.",
            ))
        elif label in shown:
            errors.append(_error(
                "enums.E002", name,
                f"Members {shown[label]} and {member.name} of {name} have the same display "
                f"label {label!r}, so forms and the admin cannot tell them apart.",
            ))
        shown.setdefault(label, member.name)
        if len(member.value.encode()) > MAX_NAME_BYTES:
            errors.append(_error(
                "enums.E003", name,
                f"The value {member.value!r} of {name}.{member.name} is "
                f"{len(member.value.encode())} bytes long in UTF-8; PostgreSQL allows at "
                f"most {MAX_NAME_BYTES} bytes in an enum label.",
            ))
    return errors


def _marker_errors(described: ChoicesDescription) -> list[checks.CheckMessage]:
    name, errors = described.path, []
    for member in described.members:
        replacement, flag = member.replacement, member.flag
        if member.deprecated and replacement is not None:
            target = described.member(replacement)
            if target is None:
                errors.append(_error(
                    "enums.E007", name,
                    f"{name}.{member.name} is deprecated with replacement {replacement!r}, "
                    f"which is not a value of {name}.",
                ))
            elif target.deprecated:
                errors.append(_error(
                    "enums.E008", name,
                    f"{name}.{member.name} is deprecated with replacement {replacement!r}, "
                    "which is deprecated itself; its rows would move to a value that is "
                    "on its way out too.",
                ))
        if flag is not None and not flag.strip():
            errors.append(_error(
                "enums.E009", name,
                f"{name}.{member.name} is flagged(...) with an empty flag name, so it can "
                "never be written.",
            ))
    return errors


@checks.register(checks.Tags.models)
@never_raises
def check_type_names(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E004–E006: each type name is a short identifier bound to one choices class."""
    errors: list[checks.CheckMessage] = []
    bound: dict[str, dict[type, list[str]]] = {}
    seen: set[str] = set()
    for model_field, enum_field in enum_fields_in_code(app_configs):
        name = enum_field.enum_type_name
        where = f"{model_field.model._meta.label}.{model_field.name}"
        if enum_field.choices_class is not None:
            bound.setdefault(name, {}).setdefault(enum_field.choices_class, []).append(where)
        if name in seen:
            continue
        seen.add(name)
        if not IDENTIFIER.match(name):
            errors.append(_error(
                "enums.E004", model_field,
                f"The enum type name {name!r} of {where} is not a valid identifier.",
            ))
        if len(name.encode()) > MAX_NAME_BYTES:
            errors.append(_error(
                "enums.E005", model_field,
                f"The enum type name {name!r} of {where} is {len(name.encode())} bytes "
                f"long; PostgreSQL truncates names longer than {MAX_NAME_BYTES} bytes.",
            ))
    for name, classes in sorted(bound.items()):
        if len(classes) > 1:
            described = "; ".join(
                f"{choices_path(cls)} ({', '.join(users)})" for cls, users in classes.items()
            )
            errors.append(_error(
                "enums.E006", name,
                f"The enum type {name} is bound to {len(classes)} choices classes: "
                f"{described}.",
            ))
    return errors


@checks.register(checks.Tags.database, checks.Tags.compatibility)
@never_raises
def check_database_vendor(databases=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E010: a database that models with enum fields migrate to is not PostgreSQL.

    Other databases of the project (a SQLite cache, a MySQL legacy store) may be anything: the
    routers' ``allow_migrate`` decides which models each holds. No connection is opened.
    """
    enum_models = {model for model, _field, _enum in model_enum_fields(apps.get_models())}
    errors = []
    for alias in databases if databases is not None else list(connections):
        connection = connections[alias]
        if connection.vendor == "postgresql":
            continue
        routed = sorted(
            model._meta.label for model in enum_models if router.allow_migrate_model(alias, model)
        )
        if routed:
            errors.append(
                checks.Error(
                    f"Database {alias!r} is {connection.vendor}, and models with enum fields "
                    f"migrate to it ({', '.join(routed)}); native enum types need PostgreSQL.",
                    hint=f"Point DATABASES[{alias!r}] at a PostgreSQL 13+ server, or keep "
                    "these models off it with a database router (allow_migrate).",
                    obj=alias,
                    id="enums.E010",
                )
            )
    return errors


@checks.register(checks.Tags.models)
@never_raises
def check_migration_sql(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E011, E012, W001, W002, W004: RunSQL must leave managed enum types to the
    operations."""
    from django.db.migrations.loader import MigrationLoader

    # The migration files only, not the graph: a graph that cannot be built (a dependency on
    # a removed app or migration) is for migrate to report, and Django's checks may already
    # name its cause (fields.E300, E307); the SQL in the files can be read all the same.
    loader = MigrationLoader(None, ignore_no_migrations=True, load=False)
    loader.load_disk()
    migrations = loader.disk_migrations
    labels = None if app_configs is None else {config.label for config in app_configs}
    managed = {field.enum_type_name for _model_field, field in enum_fields_in_code()}
    managed |= {
        operation.name
        for migration in migrations.values()
        for operation in migration.operations
        if isinstance(operation, CreateEnumType)
    }
    errors: list[checks.CheckMessage] = []
    for (app_label, _name), migration in sorted(migrations.items()):
        if labels is not None and app_label not in labels:
            continue
        for sql, has_params in migration_sql.run_sql_texts(migration.operations):
            for finding in migration_sql.findings(sql, managed, has_params):
                errors.append(_sql_message(migration, finding))
    return errors


_SQL_IDS = {
    migration_sql.CHANGES_TYPE: (checks.Error, "enums.E011"),
    migration_sql.WRITES_PG_ENUM: (checks.Error, "enums.E012"),
    migration_sql.UNPARSABLE: (checks.Warning, "enums.W001"),
    migration_sql.COMMENTS_TYPE: (checks.Warning, "enums.W002"),
    migration_sql.DYNAMIC: (checks.Warning, "enums.W004"),
}

_SQL_HINTS = {
    migration_sql.CHANGES_TYPE: "Change enum types only through betintel.enums.operations "
    "(AddEnumValue, RenameEnumValue, DeprecateEnumValue, RemoveEnumValue, DropEnumType): they "
    "keep migration state, dependent columns and the audit log right.",
    migration_sql.WRITES_PG_ENUM: "Never write pg_enum: it corrupts the type for every table "
    "using it. Use the operations of betintel.enums.operations instead.",
    migration_sql.UNPARSABLE: "Fix the SQL so PostgreSQL's parser accepts it; until then it "
    "cannot be checked for changes to enum types.",
    migration_sql.COMMENTS_TYPE: "The comment of an enum type records its deprecations; use "
    "DeprecateEnumValue instead of COMMENT ON TYPE.",
    migration_sql.DYNAMIC: "Statements built at run time cannot be checked for changes to enum "
    "types. Write the SQL as plain statements (so this check reads them), or change enum types "
    "through betintel.enums.operations (AddEnumValue, RenameEnumValue, DeprecateEnumValue, "
    "RemoveEnumValue).",
}


def _sql_message(migration, finding: migration_sql.Finding) -> checks.CheckMessage:
    level, check_id = _SQL_IDS[finding.kind]
    module = sys.modules.get(migration.__module__)
    where = getattr(module, "__file__", None) or migration.__module__
    return level(
        f"Migration {migration.app_label}.{migration.name} ({where}) runs SQL that "
        f"{finding.what}: {finding.statement}",
        hint=_SQL_HINTS[finding.kind],
        obj=f"{migration.app_label}.{migration.name}",
        id=check_id,
    )


@checks.register(checks.Tags.models)
@never_raises
def check_exhaustive(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E013, W003: every exhaustive(...) mapping covers every non-deprecated member."""
    errors: list[checks.CheckMessage] = []
    for mapping in sorted(exhaustive_registry.values(), key=lambda m: m.where):
        name = choices_path(mapping.choices_class)
        missing = mapping.missing()
        if missing:
            errors.append(_error(
                "enums.E013", name,
                f"The exhaustive mapping of {name} at {mapping.where} does not cover "
                f"{', '.join(map(repr, missing))}.",
            ))
        unknown = mapping.unknown()
        if unknown:
            errors.append(
                checks.Warning(
                    f"The exhaustive mapping of {name} at {mapping.where} has entries for "
                    f"{', '.join(map(repr, unknown))}, which are no values of {name}.",
                    hint="Remove the stale entries, or fix their spelling.",
                    obj=name,
                    id="enums.W003",
                )
            )
    return errors


@checks.register()
@never_raises
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """enums.E015, E016: every engine setting parses, and the lock timeout is bounded."""
    errors: list[checks.CheckMessage] = []
    for name, accessor in conf.ACCESSORS.items():
        try:
            accessor()
        except conf.SettingError as exc:
            unbounded = isinstance(exc, conf.UnboundedWait)
            errors.append(
                checks.Error(
                    str(exc),
                    hint=f"Fix {name} in the environment (or settings); the README's Settings "
                    "section lists each setting with its format and default.",
                    obj=name,
                    id="enums.E016" if unbounded else "enums.E015",
                )
            )
    return errors
