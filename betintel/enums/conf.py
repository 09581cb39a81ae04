"""Settings of the enum engine, read lazily, each with its default."""

from __future__ import annotations

import re

from django.conf import settings


def feature_flags() -> frozenset[str]:
    """Feature flags switched on (``FEATURE_FLAGS``); flagged members need theirs on for writes."""
    flags = getattr(settings, "FEATURE_FLAGS", ())
    if isinstance(flags, str):
        flags = flags.split(",")
    return frozenset(flag.strip() for flag in flags if flag and flag.strip())


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


def swap_mode() -> str:
    """How a type swap runs (``ENUM_SWAP``): ``auto`` (default), ``online`` or ``blocking``."""
    value = str(getattr(settings, "ENUM_SWAP", "auto")).strip().lower()
    if value not in {"auto", "online", "blocking"}:
        raise ValueError(f"ENUM_SWAP={value!r} is not one of auto, online, blocking.")
    return value


def online_min_rows() -> int:
    """Under ``auto``, a swap runs online above this many rows in a table (100,000)."""
    return max(0, int(getattr(settings, "ENUM_ONLINE_MIN_ROWS", 100_000)))


def backfill_batch() -> int:
    """Rows copied per short transaction by the online swap's backfill (``ENUM_BACKFILL_BATCH``)."""
    return max(1, int(getattr(settings, "ENUM_BACKFILL_BATCH", 10_000)))
