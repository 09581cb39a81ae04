"""``makemigrations`` that also writes enum operations (see ``betintel.enums.autodetector``)."""

from __future__ import annotations

import contextlib
import logging

from django.core.management.commands import makemigrations
from django.db.migrations.writer import MigrationWriter

from betintel.enums import autodetector as enum_autodetector
from betintel.enums.autodetector import EnumAutodetector
from betintel.enums.management.routing import routed


class _WarningHandler(logging.Handler):
    """Writes the autodetector's warnings (members reordered) to the command's stderr."""

    def __init__(self, command: Command) -> None:
        super().__init__(logging.WARNING)
        self.command = command

    def emit(self, record: logging.LogRecord) -> None:
        self.command.write_warning(self.format(record))


class Command(makemigrations.Command):
    help = (
        makemigrations.Command.help
        + " Also detects changes to enum types, and refuses unsafe ones (a value deleted "
        "without being deprecated first, or edited in place)."
    )
    #: A project's subclass may set its own class here; combine it with
    #: ``betintel.enums.autodetector.EnumAutodetectorMixin`` to keep the enum rules.
    autodetector = EnumAutodetector

    def handle(self, *app_labels, **options):
        with self._warnings_on_stderr():
            return super().handle(*app_labels, **options)

    @contextlib.contextmanager
    def _warnings_on_stderr(self):
        """While this run lasts, the autodetector's warnings go to its stderr (and only
        there, not also to the project's console handler)."""
        with routed(enum_autodetector.logger, _WarningHandler(self), logging.WARNING):
            yield

    def write_warning(self, message: str) -> None:
        """Print ``message`` as a warning on stderr."""
        self.stderr.write(self.style.WARNING(f"Warning: {message}"))

    def write_migration_files(self, changes, update_previous_migration_paths=None):
        super().write_migration_files(changes, update_previous_migration_paths)
        if self.dry_run:
            return
        for migrations in changes.values():
            for migration in migrations:
                if not migration.atomic:
                    mark_non_atomic(MigrationWriter(migration).path)


def mark_non_atomic(path: str) -> None:
    """Write ``atomic = False`` into the migration file at ``path`` (Django's writer leaves it
    out): a value removal's type swap and a column's conversion run online only outside a
    transaction."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    marker = "class Migration(migrations.Migration):\n"
    if marker in text and "\n    atomic = False\n" not in text:
        text = text.replace(marker, marker + "\n    atomic = False\n", 1)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
