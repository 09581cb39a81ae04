"""``manage.py enum_status``: the enum types of the code and of the database, compared."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from betintel.enums import conf
from betintel.enums.counts import AUTO, ESTIMATE, EXACT, NONE
from betintel.enums.report import StatusReport, TypeReport, ValueReport, build_report

HEADERS = ("value", "label", "code", "db", "state", "flag", "rows")


class Command(BaseCommand):
    help = (
        "Show every enum type in the code and in the database: the columns using it and, per "
        "value, its label, whether code and database have it, its state (active, flagged, "
        "deprecated) and its row count. Reports drift between code and database."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with status 1 when the code and the database disagree (drift), else 0.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as one JSON document."
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database alias to inspect (default: %(default)s).",
        )
        parser.add_argument(
            "--counts",
            choices=[EXACT, ESTIMATE, NONE],
            default=None,
            help="How to count rows per value: 'exact' (GROUP BY, a full scan), 'estimate' "
            "(planner statistics, milliseconds at any size) or 'none'. Default: exact below "
            "a million rows per table (ENUM_EXACT_COUNT_LIMIT), estimated above.",
        )

    def handle(self, *args, **options) -> None:
        alias = options["database"]
        if alias not in connections:
            configured = ", ".join(sorted(connections.settings)) or "none"
            raise CommandError(
                f"Database alias {alias!r} is not configured (configured: {configured}). "
                "Pass one of those to --database, or add it to DATABASES."
            )
        try:
            report = build_report(alias, options["counts"] or AUTO)
        except DatabaseError as exc:
            raise CommandError(
                f"Could not read the enum types of database {alias!r}: {exc}".rstrip()
                + f" Check that the server is running and DATABASES[{alias!r}] points at it."
            ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.write_text(report)
        if options["check"] and not report.ok:
            sys.exit(1)

    def write_text(self, report: StatusReport) -> None:
        """The report as a table per type, then a one-line verdict."""
        counts = report.counts
        if counts == AUTO:
            counts = f"exact below {conf.exact_count_limit():,} rows per table, estimated above"
        flags = ", ".join(sorted(report.feature_flags)) or "none"
        self.stdout.write(f"Database {report.database!r}; counts: {counts}.")
        self.stdout.write(f"Feature flags on: {flags}.")
        for entry in report.enums:
            self.write_type(entry)
        self.stdout.write("")
        problems = report.drift
        if problems:
            failing = sum(1 for entry in report.enums if not entry.ok)
            self.stdout.write(self.style.ERROR(
                f"DRIFT: {len(problems)} problem(s) in {failing} of {len(report.enums)} enum "
                "types; see above."
            ))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"OK: the code and the database agree on all {len(report.enums)} enum types."
            ))

    def write_type(self, entry: TypeReport) -> None:
        self.stdout.write("")
        heading = f"{entry.type}  ({entry.choices or 'not in the code'})"
        self.stdout.write(self.style.MIGRATE_HEADING(heading))
        self.stdout.write(f"  columns: {', '.join(entry.columns) or 'none'}")
        rows = [HEADERS, *(_cells(value) for value in entry.values)]
        widths = [max(len(row[index]) for row in rows) for index in range(len(HEADERS))]
        for number, row in enumerate(rows):
            # Left-align text, right-align the row counts.
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
            line = "  " + "  ".join([*cells, row[-1].rjust(widths[-1])])
            self.stdout.write(self.style.MIGRATE_LABEL(line) if number == 0 else line)
        if entry.any_estimated:
            self.stdout.write("  ~ marks a planner estimate; ? an unknown count.")
        for problem in entry.drift:
            self.stdout.write(self.style.ERROR(f"  drift: {problem}"))
        for warning in entry.warnings:
            self.stdout.write(self.style.WARNING(f"  warning: {warning}"))


def _cells(value: ValueReport) -> tuple[str, ...]:
    state = value.state
    if value.replacement:
        state += f" -> {value.replacement}"
    flag = "-"
    if value.flag:
        flag = f"{value.flag} ({'on' if value.flag_on else 'off'})"
    return (
        value.value,
        value.label if value.label is not None else "-",
        "yes" if value.in_code else "NO",
        "yes" if value.in_db else "NO",
        state,
        flag,
        value.rows_text(approx="~", unknown="?", absent="-"),
    )
