"""``migrate`` that takes turns with other ``migrate`` processes on the database, tells the enum
engine which migration it runs, shows the rewrite plans of type swaps, and explains enum
refusals and a lost connection instead of printing a traceback."""

from __future__ import annotations

import contextlib
import logging
import re

from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import connections
from django.utils.connection import ConnectionDoesNotExist

from betintel.enums import locks, old_types, swap
from betintel.enums.autodetector import EnumAutodetector
from betintel.enums.errors import EnumMigrationError, find_cause
from betintel.enums.management.routing import routed
from betintel.enums.signals import current_migration

#: SQLSTATE of "unsafe use of new value": an enum value used in the transaction that added it.
UNSAFE_NEW_ENUM_VALUE = "55P04"

#: SQLSTATEs of a session ended by the server: admin_shutdown (pg_terminate_backend),
#: crash_shutdown, cannot_connect_now, and the connection exceptions (class 08).
SESSION_ENDED = {"57P01", "57P02", "57P03", "08000", "08003", "08006"}

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
        self._alias = options["database"]
        try:
            with self._taking_turns(options["verbosity"]), \
                    self._plans_on_stdout(options["verbosity"]):
                self._finish_interrupted_swaps()
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
    def _taking_turns(self, verbosity: int):
        """Hold the database-wide migrate lock (SPEC §4): two migrate processes on one database
        take turns, so each migration is applied, recorded and audited once."""
        try:
            connection = connections[self._alias]
        except ConnectionDoesNotExist:
            yield  # Django's own handle() reports the unknown alias
            return
        if connection.vendor != "postgresql":
            yield
            return

        def on_wait(pid: int | None) -> None:
            if verbosity >= 1:
                who = f"pid {pid}" if pid is not None else "another session"
                self.stderr.write(
                    f"Waiting for another migrate ({who}) to finish on database "
                    f"{self._alias!r}: migrate runs one at a time per database."
                )

        with locks.migrate_lock(connection, on_wait) as waited:
            if waited and verbosity >= 1:
                self.stderr.write(
                    f"The other migrate finished after {waited:.1f}s; continuing with what is "
                    "left to do."
                )
            yield

    def _finish_interrupted_swaps(self) -> None:
        """Drop the old types of type swaps (blocking or online) whose process ended right
        after committing."""
        try:
            connection = connections[self._alias]
        except ConnectionDoesNotExist:
            return  # Django's own handle() reports the unknown alias
        if connection.vendor == "postgresql":
            old_types.finish_interrupted_swaps(connection)

    @contextlib.contextmanager
    def _plans_on_stdout(self, verbosity: int):
        """Route the swap's plan (tables to rewrite, rows, size) to our stdout while we run;
        at verbosity 0 it goes nowhere (not even to the project's console handler)."""
        handler = _OutputHandler(self.stdout) if verbosity >= 1 else logging.NullHandler()
        with routed(swap.logger, handler, logging.INFO):
            yield

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
        if self._connection_lost(exc):
            return self._lost_connection_error(exc)
        return None

    def _connection_lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` comes from the database session ending under us."""
        if find_cause(exc, lambda e: getattr(e, "sqlstate", None) in SESSION_ENDED):
            return True
        try:
            connection = connections[self._alias]
        except ConnectionDoesNotExist:
            return False
        driver = connection.connection
        return driver is not None and getattr(driver, "closed", False) and find_cause(
            exc, lambda e: type(e).__name__ in ("OperationalError", "InterfaceError")
        ) is not None

    def _lost_connection_error(self, exc: BaseException) -> CommandError:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        migration = self._migration
        if migration is None:
            during = "before any migration was applied"
            outcome = "Nothing was applied."
        else:
            verb = "unapplied" if self._action == "unapply_start" else "applied"
            during = f"while migration {self._label()} was being {verb}"
            if migration.atomic:
                outcome = (
                    f"PostgreSQL rolled back its transaction, so nothing of migration "
                    f"{self._label()} was {verb}, and it is not recorded as {verb}."
                )
            else:
                outcome = (
                    f"Migration {self._label()} is not atomic: its operations that finished "
                    f"before stay {verb}, the one under way was rolled back, and the migration "
                    f"is not recorded as {verb}."
                )
        return CommandError(
            f"The connection to database {self._alias!r} was lost {during}: the server ended "
            f"the session ({first_line}). {outcome} Find out why the session ended "
            "(pg_terminate_backend, a server restart, the network), then run migrate again."
        )

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
