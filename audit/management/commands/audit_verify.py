"""``manage.py audit_verify``: walk the audit log's hash chain and print its head."""

from __future__ import annotations

import re
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from audit import chain
from audit.models import AuditLog

HEAD = re.compile(r"(?P<count>\d+):(?P<digest>[0-9a-f]{64})?")


class Command(BaseCommand):
    help = (
        "Check that no audit entry was changed, removed, inserted or reordered behind the "
        "application's back: every entry's keyed digest must match its contents and the entry "
        "before it. Exits 0 and prints the head (entry count and last digest; keep it "
        "elsewhere), or exits 1 naming the first entry that does not match."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--head",
            metavar="COUNT:DIGEST",
            help=(
                "A head printed by an earlier run. The log must still start with those COUNT "
                "entries, the last of them with that DIGEST; this also catches entries cut "
                "from the end."
            ),
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database alias whose audit log to check (default: %(default)s).",
        )

    def handle(self, *args, head: str | None = None, database: str = DEFAULT_DB_ALIAS,
               **options) -> None:
        if database not in connections:
            raise CommandError(
                f"There is no database {database!r} in DATABASES; use one of "
                f"{', '.join(sorted(connections))}."
            )
        kept = self._parse_head(head) if head else None
        positions = (kept[0],) if kept else ()
        result = chain.verify(connections[database], AuditLog._meta.db_table, positions)
        problem = result.problem or (self._against(result, *kept) if kept else None)
        if problem:
            self.stderr.write(self.style.ERROR(problem))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(
            f"Audit log verified: {result.count} "
            f"entr{'y' if result.count == 1 else 'ies'}, each linked to the one before it."
            + (f" It extends the head kept earlier ({head})." if kept else "")
        ))
        self.stdout.write(f"Head: {result.head}")

    def _parse_head(self, head: str) -> tuple[int, str]:
        match = HEAD.fullmatch(head.strip())
        if not match or (match["digest"] is None) != (match["count"] == "0"):
            raise CommandError(
                f"--head {head!r} is not a head printed by audit_verify: give COUNT:DIGEST, "
                "the entry count and the 64 hex digits of the last digest (0: for an empty "
                "log), as printed after 'Head:'."
            )
        return int(match["count"]), match["digest"] or ""

    def _against(self, result: chain.Verification, count: int, digest: str) -> str | None:
        """Why the log does not extend the head kept earlier, or None if it does."""
        if count == 0:
            return None
        if result.count < count:
            return (
                f"Entries were removed from the end of the audit log: the head kept earlier "
                f"counted {count} entries, the log now has {result.count}. The entries after "
                f"position {result.count} are gone."
            )
        if result.digests_at.get(count) != digest:
            return (
                f"The audit log does not extend the head kept earlier: the entry at position "
                f"{count} has another digest than {digest[:16]}…, so entries up to there were "
                "removed, replaced or rewritten behind the application's back."
            )
        return None
