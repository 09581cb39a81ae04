"""Settings of the enum engine, read lazily, each with its default."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def feature_flags() -> frozenset[str]:
    """Feature flags switched on; flagged members need theirs on for writes.

    ``ENUM_FEATURE_FLAGS_SOURCE`` (default None) names a callable of the project's own flag
    system, by dotted path: called with no arguments on every read, it returns the names of the
    flags that are on. Unset, the flags are ``FEATURE_FLAGS`` (a list, or a comma-separated
    string).
    """
    source = getattr(settings, "ENUM_FEATURE_FLAGS_SOURCE", None)
    flags = _flag_source(source)() if source else getattr(settings, "FEATURE_FLAGS", ())
    if isinstance(flags, str):
        flags = flags.split(",")
    return frozenset(flag.strip() for flag in flags if flag and flag.strip())


def _flag_source(source):
    if callable(source):
        return source
    try:
        return import_string(source)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"ENUM_FEATURE_FLAGS_SOURCE={source!r} cannot be imported ({exc}). Name a callable "
            "by its dotted path, e.g. 'myproject.flags.enabled_flags', that returns the names "
            "of the flags that are on."
        ) from exc


def lock_timeout() -> str:
    """``lock_timeout`` for statements that need a table lock (``ENUM_LOCK_TIMEOUT``, ``2s``)."""
    value = str(getattr(settings, "ENUM_LOCK_TIMEOUT", "2s")).strip()
    if not re.fullmatch(r"\d+\s*(us|ms|s|min|h|d)?", value):
        raise ValueError(
            f"ENUM_LOCK_TIMEOUT={value!r} is not a PostgreSQL duration; use e.g. '2s' or '500ms'."
        )
    return value


def lock_retries() -> int:
    """How often a statement that timed out on a lock is retried (``ENUM_LOCK_RETRIES``, 5)."""
    return max(0, int(getattr(settings, "ENUM_LOCK_RETRIES", 5)))


def exact_count_limit() -> int:
    """Tables estimated above this many rows get planner estimates, not counts (1,000,000)."""
    return max(0, int(getattr(settings, "ENUM_EXACT_COUNT_LIMIT", 1_000_000)))
