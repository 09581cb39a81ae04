"""The audit log's hash chain: how an entry is serialised and linked to the one before it.

Each entry's ``digest`` is HMAC-SHA256, under ``conf.hmac_key()``, over the previous entry's
digest (empty for the first entry) and a canonical serialisation of the entry's own fields:
``[id, action, message, details, created_at, actor_id]`` as compact JSON with sorted keys.
``details`` and ``created_at`` are taken in the form the database gives back (``jsonb`` as
text, the timestamp in UTC to the microsecond), so writing and verifying see the same bytes
whatever the Python settings. ``previous_digest`` repeats the digest the entry was linked to:
it tells a removed or reordered entry from a changed one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from . import conf

#: SQL giving a timestamp column or parameter as canonical UTC text, to the microsecond.
UTC_TEXT = "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#: The columns of a stored entry, in the order ``Link.from_row`` reads them.
LINK_COLUMNS = (
    "id, action::text, message, details::text, "
    + UTC_TEXT.format("created_at")
    + ", actor_id, previous_digest, digest"
)


def canonical_json(value) -> str:
    """Compact JSON with sorted keys: one text for one value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def digest(
    previous: str,
    entry_id: int,
    action: str,
    message: str,
    details_text: str,
    created_at_text: str,
    actor_id: int | None,
    key: bytes | None = None,
) -> str:
    """The hex digest of an entry linked to ``previous`` (``""`` for the first entry)."""
    fields = [entry_id, action, message, json.loads(details_text), created_at_text, actor_id]
    message_bytes = f"{previous}\n{canonical_json(fields)}".encode()
    return hmac.new(key or conf.hmac_key(), message_bytes, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Link:
    """One stored entry as the chain sees it."""

    id: int
    action: str
    message: str
    details_text: str
    created_at_text: str
    actor_id: int | None
    previous_digest: str
    digest: str

    @classmethod
    def from_row(cls, row) -> Link:
        """A link from a row selected with ``LINK_COLUMNS``."""
        return cls(*row)

    def expected_digest(self, previous: str, key: bytes | None = None) -> str:
        """The digest this entry's fields give when linked to ``previous``."""
        return digest(
            previous, self.id, self.action, self.message, self.details_text,
            self.created_at_text, self.actor_id, key,
        )

    def describe(self, start: bool = False) -> str:
        """How a message names the entry: id, time and action (``start``: opening a sentence)."""
        return f"{'Entry' if start else 'entry'} {self.id} ({self.created_at_text}, {self.action})"


def head_text(count: int, last_digest: str) -> str:
    """The head of a chain as printed by ``audit_verify`` and read by ``--head``."""
    return f"{count}:{last_digest}"


@dataclass
class Verification:
    """What a walk along the chain found: the head, and the first break, if any."""

    count: int = 0
    last_digest: str = ""
    problem: str | None = None
    #: Digest of the entry at each position asked for (1-based), to compare with a kept head.
    digests_at: dict[int, str] | None = None

    @property
    def head(self) -> str:
        return head_text(self.count, self.last_digest)


def verify(connection, table: str, positions: tuple[int, ...] = (), batch: int = 5000,
           key: bytes | None = None) -> Verification:
    """Walk ``table``'s entries in id order and check each link; stop at the first break.

    Runs in one read-only repeatable-read transaction, so the head it reports is the log at one
    moment even while entries are being added.
    """
    from django.db import transaction

    from .writer import sql_text

    key = key or conf.hmac_key()
    result = Verification(digests_at={})
    previous: Link | None = None
    snapshot = not connection.in_atomic_block
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if snapshot:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        page = sql_text(
            connection, "SELECT " + LINK_COLUMNS + " FROM {} WHERE id > %s ORDER BY id LIMIT %s",
            table,
        )
        last_id = -(1 << 62)
        while True:
            cursor.execute(page, [last_id, batch])
            rows = cursor.fetchall()
            if not rows:
                return result
            for row in rows:
                link = Link.from_row(row)
                problem = _break_at(cursor, connection, table, link, previous, key)
                if problem:
                    result.problem = problem
                    return result
                result.count += 1
                result.last_digest = link.digest
                if result.count in positions:
                    result.digests_at[result.count] = link.digest
                previous = link
            last_id = rows[-1][0]


def _break_at(cursor, connection, table: str, link: Link, previous: Link | None,
              key: bytes) -> str | None:
    """Why ``link`` does not follow ``previous`` (None: the first entry), or None if it does."""
    from .writer import sql_text

    expected_previous = previous.digest if previous else ""
    after = previous.describe() if previous else "the start of the log"
    if link.previous_digest != expected_previous:
        cursor.execute(sql_text(connection, "SELECT " + LINK_COLUMNS + " FROM {} "
                                "WHERE digest = %s AND id <> %s LIMIT 1", table),
                       [link.previous_digest, link.id])
        found = cursor.fetchone()
        if not link.previous_digest:
            return (
                f"{link.describe(start=True)} was inserted behind the application's back: "
                f"it claims to be the first entry of the log, but follows {after}."
            )
        if found:
            return (
                f"The audit log was reordered behind the application's back: {link.describe()} "
                f"was written after {Link.from_row(found).describe()}, but now follows "
                f"{after}."
            )
        return (
            f"Entries were removed from the audit log behind the application's back: "
            f"{link.describe()} was written after an entry that is no longer there, and now "
            f"follows {after}."
        )
    if link.expected_digest(expected_previous, key) != link.digest:
        message = (
            f"{link.describe(start=True)} was changed or inserted behind the application's "
            "back: its digest does not match its contents."
        )
        if previous is None:
            message += (
                " If every entry fails, AUDIT_HMAC_KEY (or SECRET_KEY, which the default key "
                "comes from) differs from the key the entries were written with."
            )
        return message
    return None
