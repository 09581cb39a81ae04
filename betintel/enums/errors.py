"""Errors of the enum engine. Each says what was refused, why, and what to do next.

Public: the errors (re-exported by ``betintel.enums``) and ``sqlstate``, for listeners that
write in a migration's transaction and must tell a missing table from a real failure.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["EnumMigrationError", "LockNotAcquired", "RefusedChange", "sqlstate"]


class EnumMigrationError(Exception):
    """An enum operation did not change the database; its message says what to do instead."""


class RefusedChange(EnumMigrationError, ValueError):
    """The change would lose data or break a dependent object, so nothing was changed."""


class LockNotAcquired(EnumMigrationError):
    """A table lock was not granted within the lock budget; the blocking sessions are named."""

    def __init__(self, message: str, blockers: list[dict]) -> None:
        super().__init__(message)
        self.blockers = blockers


def find_cause(
    exc: BaseException | None, matches: Callable[[BaseException], bool]
) -> BaseException | None:
    """The first exception in ``exc``'s chain of causes (itself first) that ``matches``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if matches(exc):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of the driver error behind ``exc`` (Django wraps psycopg's), if any."""
    cause = find_cause(exc, lambda e: getattr(e, "sqlstate", None) is not None)
    return getattr(cause, "sqlstate", None)


class SwapInterrupted(EnumMigrationError):
    """An online type swap stopped part way: the tables are usable and the next migrate
    resumes it (the message names the step)."""
