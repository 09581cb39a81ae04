"""Errors of the enum engine. Each says what was refused, why, and what to do next."""

from __future__ import annotations


class EnumMigrationError(Exception):
    """An enum operation did not change the database; its message says what to do instead."""


class RefusedChange(EnumMigrationError, ValueError):
    """The change would lose data or break a dependent object, so nothing was changed."""


class LockNotAcquired(EnumMigrationError):
    """A table lock was not granted within the lock budget; the blocking sessions are named."""

    def __init__(self, message: str, blockers: list[dict]) -> None:
        super().__init__(message)
        self.blockers = blockers
