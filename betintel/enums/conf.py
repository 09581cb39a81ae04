"""Settings of the enum engine, read lazily, each with its default.

Settings may arrive as raw strings from the environment, so each accessor parses its own; a
value that cannot be parsed raises ``SettingError`` naming the setting. The system check
``enums.E015``/``E016`` (``checks.check_settings``) reports the same problems before anything
runs.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

#: PostgreSQL's time units, in milliseconds (the unit of ``lock_timeout``).
_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0,
                  "d": 86_400_000.0}
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z]*)")

#: The ways a type swap may run (SPEC §4a).
SWAP_MODES = ("auto", "online", "blocking")


class SettingError(ImproperlyConfigured):
    """An engine setting whose value cannot be used; the message names the setting."""


class UnboundedWait(SettingError):
    """A lock timeout of 0: PostgreSQL would wait forever."""


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


def parse_duration_ms(name: str, value: object) -> int:
    """A PostgreSQL duration (``1.5s``, ``500ms``, ``1min``; a bare number is milliseconds) in
    whole milliseconds, at least 1: a lock timeout of 0 would wait forever."""
    text = str(value).strip().lower()
    match = _DURATION.fullmatch(text)
    if match is None or match["unit"] not in ("", *_TIME_UNITS_MS):
        raise SettingError(
            f"{name}={value!r} is not a duration. Use a number with a PostgreSQL unit (us, ms, "
            "s, min, h, d), e.g. '2s', '1.5s' or '500ms'; a bare number is milliseconds."
        )
    milliseconds = round(float(match["number"]) * _TIME_UNITS_MS[match["unit"] or "ms"])
    if milliseconds < 1:
        raise UnboundedWait(
            f"{name}={value!r} means no timeout at all, so a migration could wait without bound "
            "behind another transaction (and every reader of the table would queue behind it). "
            "Give a positive duration of at least 1ms, e.g. '2s'."
        )
    return milliseconds


def parse_count(name: str, value: object, minimum: int = 0) -> int:
    """A whole number of at least ``minimum`` (``10000``, ``10_000``)."""
    text = str(value).strip().replace("_", "")
    if isinstance(value, bool) or not re.fullmatch(r"\d+", text) or int(text) < minimum:
        raise SettingError(
            f"{name}={value!r} is not a whole number of at least {minimum}. Set it to e.g. "
            f"{max(minimum, 5)} (digits only)."
        )
    return int(text)


def lock_timeout_ms() -> int:
    """``ENUM_LOCK_TIMEOUT`` (default ``2s``) in milliseconds."""
    return parse_duration_ms("ENUM_LOCK_TIMEOUT", getattr(settings, "ENUM_LOCK_TIMEOUT", "2s"))


def lock_timeout() -> str:
    """``lock_timeout`` for statements that need a lock (``ENUM_LOCK_TIMEOUT``, ``2s``), as
    PostgreSQL takes it: whole milliseconds, e.g. ``'1500ms'`` for ``1.5s``."""
    return f"{lock_timeout_ms()}ms"


def lock_retries() -> int:
    """How often a statement that timed out on a lock is retried (``ENUM_LOCK_RETRIES``, 5)."""
    return parse_count("ENUM_LOCK_RETRIES", getattr(settings, "ENUM_LOCK_RETRIES", 5))


def exact_count_limit() -> int:
    """Tables estimated above this many rows get planner estimates, not counts
    (``ENUM_EXACT_COUNT_LIMIT``, 1,000,000)."""
    return parse_count(
        "ENUM_EXACT_COUNT_LIMIT", getattr(settings, "ENUM_EXACT_COUNT_LIMIT", 1_000_000)
    )


def swap_mode() -> str:
    """How a type swap runs (``ENUM_SWAP``): ``auto`` (default), ``online`` or ``blocking``."""
    value = str(getattr(settings, "ENUM_SWAP", "auto")).strip().lower() or "auto"
    if value not in SWAP_MODES:
        raise SettingError(
            f"ENUM_SWAP={getattr(settings, 'ENUM_SWAP', None)!r} is not one of "
            f"{', '.join(SWAP_MODES)}. Use auto (the default), online or blocking."
        )
    return value


def online_min_rows() -> int:
    """Under ``ENUM_SWAP=auto``, a non-atomic swap runs online when a table it rewrites holds
    more rows than this (``ENUM_ONLINE_MIN_ROWS``, 100,000; planner estimate)."""
    return parse_count("ENUM_ONLINE_MIN_ROWS", getattr(settings, "ENUM_ONLINE_MIN_ROWS", 100_000))


def backfill_batch() -> int:
    """Rows copied per short transaction by the online swap (``ENUM_BACKFILL_BATCH``, 10,000)."""
    return parse_count(
        "ENUM_BACKFILL_BATCH", getattr(settings, "ENUM_BACKFILL_BATCH", 10_000), minimum=1
    )


#: Every parsed engine setting, by name: what ``checks.check_settings`` tries.
ACCESSORS = {
    "ENUM_LOCK_TIMEOUT": lock_timeout_ms,
    "ENUM_LOCK_RETRIES": lock_retries,
    "ENUM_EXACT_COUNT_LIMIT": exact_count_limit,
    "ENUM_SWAP": swap_mode,
    "ENUM_ONLINE_MIN_ROWS": online_min_rows,
    "ENUM_BACKFILL_BATCH": backfill_batch,
}
