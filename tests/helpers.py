"""Helpers shared by the suite. Everything runs against the real test database."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState


def run_command(*args: str, **options) -> tuple[str, str, int]:
    """Run a management command in-process; return ``(stdout, stderr, exit_code)``."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err, **options)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return out.getvalue(), err.getvalue(), code


def unique_name(prefix: str = "t") -> str:
    """A fresh identifier, so tests never collide on type or table names."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def apply_operations(
    app_label: str,
    state: ProjectState,
    operations: Iterable,
    atomic: bool = True,
    name: str = "0001_test",
) -> ProjectState:
    """Apply ``operations`` as one migration of ``app_label``; return the new state."""
    return _run_migration("apply", app_label, state, operations, atomic, name)


def unapply_operations(
    app_label: str,
    state: ProjectState,
    operations: Iterable,
    atomic: bool = True,
    name: str = "0001_test",
) -> ProjectState:
    """Unapply ``operations`` (given in forwards order) from ``state``, the state after them."""
    return _run_migration("unapply", app_label, state, operations, atomic, name)


def _run_migration(
    how: str, app_label: str, state: ProjectState, operations: Iterable, atomic: bool, name: str
) -> ProjectState:
    migration = Migration(name, app_label)
    migration.operations = list(operations)
    migration.atomic = atomic
    with connection.schema_editor(atomic=atomic) as editor:
        return getattr(migration, how)(state, editor)


def enum_labels(type_name: str) -> list[str]:
    """The labels of ``type_name`` in sort order, straight from pg_enum."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
            "WHERE t.typname = %s AND t.typnamespace = current_schema()::regnamespace "
            "ORDER BY e.enumsortorder",
            [type_name],
        )
        return [row[0] for row in cursor.fetchall()]


def relfilenode(table: str) -> int:
    """The file behind ``table``: it changes exactly when the table is rewritten."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_filenode(%s::regclass)", [table])
        return cursor.fetchone()[0]


def catalog_snapshot() -> dict:
    """The schema of the current schema, from the catalog: for before/after comparisons."""
    queries = {
        "types": """
            SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder),
                   obj_description(t.oid, 'pg_type')
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE t.typnamespace = current_schema()::regnamespace
            GROUP BY t.oid, t.typname ORDER BY t.typname""",
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY 1, 2""",
        "indexes": """
            SELECT indexname, indexdef FROM pg_indexes
            WHERE schemaname = current_schema() ORDER BY 1""",
        "constraints": """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE connamespace = current_schema()::regnamespace AND conrelid <> 0
            ORDER BY 1, 2""",
        "triggers": """
            SELECT tgrelid::regclass::text, tgname FROM pg_trigger
            WHERE NOT tgisinternal ORDER BY 1, 2""",
    }
    snapshot = {}
    with connection.cursor() as cursor:
        for key, sql in queries.items():
            cursor.execute(sql)
            snapshot[key] = [tuple(row) for row in cursor.fetchall()]
    return snapshot


def temporary_migration_module(tmp_path, settings, app_label: str, operations: list) -> str:
    """A fresh migration package for ``app_label`` holding one initial migration.

    ``settings`` is pytest-django's fixture, so ``MIGRATION_MODULES`` is restored afterwards
    and makemigrations writes into ``tmp_path``, never into the source tree.
    """
    import sys

    from django.db.migrations.writer import MigrationWriter

    package = unique_name("migrations")
    folder = tmp_path / package
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    migration = Migration("0001_initial", app_label)
    migration.initial = True
    migration.operations = list(operations)
    (folder / "0001_initial.py").write_text(MigrationWriter(migration).as_string())
    if str(tmp_path) not in sys.path:
        sys.path.insert(0, str(tmp_path))
    settings.MIGRATION_MODULES = {app_label: package}
    return package


def written_migrations(tmp_path, package: str) -> dict[str, str]:
    """The migration files in ``package`` other than the initial one, by name."""
    return {
        path.name: path.read_text()
        for path in sorted((tmp_path / package).glob("0*.py"))
        if path.name != "0001_initial.py"
    }


def run_sql(template: str, *identifiers: str, params: list | None = None):
    """Run ``template`` with ``{}`` filled by quoted identifiers; return the rows, if any."""
    from psycopg import sql

    statement = sql.SQL(template).format(*(sql.Identifier(name) for name in identifiers))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection), params)
        return cursor.fetchall() if cursor.description else None
