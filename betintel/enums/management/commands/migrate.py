"""``migrate`` that tells the enum engine which migration it runs, shows the rewrite plans of
type swaps, and explains enum refusals instead of printing a traceback."""

from __future__ import annotations

import contextlib
import logging
import re

from django.core.management.base import CommandError
from django.core.management.commands import migrate

from betintel.enums import swap
from betintel.enums.autodetector import EnumAutodetector
from betintel.enums.errors import EnumMigrationError, find_cause
from betintel.enums.signals import current_migration

#: SQLSTATE of "unsafe use of new value": an enum value used in the transaction that added it.
UNSAFE_NEW_ENUM_VALUE = "55P04"

_UNSAFE_MESSAGE = re.compile(r'unsafe use of new value "(?P<value>.*)" of enum type (?P<type>.+)',
                             re.DOTALL)


class _OutputHandler(logging.Handler):
    """Writes log records (the swap's rewrite plan) to the command's stdout."""

    def __init__(self, stdout) -> None:
        super().__init__(logging.INFO)
        self.stdout = stdout

    def emit(self, record: logging.LogRecord) -> None:
        self.stdout.write(f"  {self.format(record)}")


class Command(migrate.Command):
    help = migrate.Command.help
    autodetector = EnumAutodetector

    def handle(self, *args, **options):
        self._migration = None
        self._action = None
        self._token = None
        try:
            with self._plans_on_stdout(options["verbosity"]):
                return super().handle(*args, **options)
        except Exception as exc:
            explained = self._explain(exc)
            if explained is None:
                raise
            raise explained from exc
        finally:
            if self._token is not None:
                current_migration.reset(self._token)
                self._token = None

    def migration_progress_callback(self, action, migration=None, fake=False):
        if action in ("apply_start", "unapply_start") and migration is not None:
            self._migration, self._action = migration, action
            self._token = current_migration.set(f"{migration.app_label}.{migration.name}")
        elif action in ("apply_success", "unapply_success") and self._token is not None:
            current_migration.reset(self._token)
            self._token = self._migration = None
        super().migration_progress_callback(action, migration, fake)

    @contextlib.contextmanager
    def _plans_on_stdout(self, verbosity: int):
        """Route the swap's plan (tables to rewrite, rows, size) to our stdout while we run."""
        if verbosity < 1:
            yield
            return
        logger = logging.getLogger(swap.__name__)
        handler = _OutputHandler(self.stdout)
        saved = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]

    def _explain(self, exc: BaseException) -> CommandError | None:
        """A ``CommandError`` saying what went wrong and what to do, for errors we understand."""
        label = self._label()
        unsafe = find_cause(exc, lambda e: getattr(e, "sqlstate", None) == UNSAFE_NEW_ENUM_VALUE)
        if unsafe is not None:
            primary = getattr(getattr(unsafe, "diag", None), "message_primary", None) or str(unsafe)
            match = _UNSAFE_MESSAGE.search(primary)
            value, type_name = (match["value"], match["type"].strip()) if match else ("?", "?")
            return CommandError(
                f"Migration {label} adds value {value!r} to enum type {type_name} and uses it "
                "in the same transaction (as a default, in data or in a constraint); PostgreSQL "
                "refuses that (unsafe use of new value). Move the use of "
                f"{value!r} into a later migration, so the value is committed first. "
                f"{self._outcome()}"
            )
        refused = find_cause(exc, lambda e: isinstance(e, EnumMigrationError))
        if refused is not None:
            return CommandError(f"{refused} {self._outcome()}")
        return None

    def _label(self) -> str:
        migration = self._migration
        return f"{migration.app_label}.{migration.name}" if migration else "(unknown)"

    def _outcome(self) -> str:
        """What is left of the migration that failed."""
        migration = self._migration
        if migration is None:
            return ""
        verb = "unapplied" if self._action == "unapply_start" else "applied"
        if migration.atomic:
            return f"Migration {self._label()} was rolled back: nothing of it was {verb}."
        return (
            f"Migration {self._label()} is not atomic: its operations before this one stay "
            f"{verb}, and it is not recorded as {verb}."
        )
