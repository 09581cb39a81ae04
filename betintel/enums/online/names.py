"""Names and constants the online changes share: the steps, the records in comments, and the
names of everything they make in the catalog (all ``betintel_…``, so that nothing of theirs is
taken for the tables' own objects, and nothing named so stays after success)."""

from __future__ import annotations

import logging

from ..old_types import ONLINE_PREFIX

#: The plan and progress go where the blocking swap's plan goes (``migrate`` shows it).
logger = logging.getLogger("betintel.enums.swap")

PREFIX = "betintel_"
#: Set (``on``) only inside a backfill batch's transaction: the trigger then stays out of it.
BACKFILL_SETTING = "betintel.online_backfill"
STEPS = ("shadow", "backfill", "indexes", "constraints", "switch")
#: Keys of the state records, in a temporary type's comment and a conversion function's.
STATE_KEY = "online_swap"
CONVERSION_KEY = "online_conversion"
#: The values of ``ENUM_SWAP``.
AUTO, ONLINE, BLOCKING = "auto", "online", "blocking"

NEW_TYPE_PREFIX = f"{PREFIX}new_"
CONVERSION_PREFIX = f"{PREFIX}conv_"


def new_type_name(type_oid: int) -> str:
    return f"{NEW_TYPE_PREFIX}{type_oid}"


def old_type_name(type_oid: int) -> str:
    return f"{ONLINE_PREFIX}{type_oid}"


def trigger_name(type_oid: int) -> str:
    return f"{PREFIX}sync_{type_oid}"


def function_name(type_oid: int, table_oid: int) -> str:
    return f"{PREFIX}sync_{type_oid}_{table_oid}"


def conversion_trigger_name(attnum: int) -> str:
    return f"{CONVERSION_PREFIX}{attnum}"


def conversion_function_name(table_oid: int, attnum: int) -> str:
    return f"{CONVERSION_PREFIX}{table_oid}_{attnum}"


def fit(name: str) -> str:
    """``name`` cut to PostgreSQL's 63 bytes without splitting a character."""
    return name.encode("utf-8")[:63].decode("utf-8", "ignore")
