"""Benchmark enum_status on millions of bets: estimated, default and exact counts vs GROUP BY.

Run by hand from the project root (the first run fills its own database, which takes minutes):

    .venv/bin/python -m bench.bench_status [--bets 10000000] [--repeat 7] [--drop]
"""

from __future__ import annotations

import io
import json

from bench.common import arguments, drop_database, ensure_bets, median_ms, print_table, setup_django


def main() -> None:
    options = arguments(__doc__).parse_args()
    setup_django(options.database_name)
    ensure_bets(options.bets)
    from django.core.management import call_command
    from django.db import connection

    def status(*args: str) -> dict:
        out = io.StringIO()
        call_command("enum_status", "--json", *args, stdout=out)
        return json.loads(out.getvalue())

    def group_by(*columns: str) -> None:
        with connection.cursor() as cursor:
            for column in columns:
                # Fixed column names from this file, not input: the playbook's own query.
                cursor.execute(
                    {"bet_type": "SELECT bet_type, count(*) FROM bets_bet GROUP BY bet_type",
                     "sport": "SELECT sport, count(*) FROM bets_bet GROUP BY sport",
                     "status": "SELECT status, count(*) FROM bets_bet GROUP BY status"}[column]
                )
                cursor.fetchall()

    repeat = options.repeat
    rows = [
        ("raw GROUP BY bet_type", *median_ms(lambda: group_by("bet_type"), repeat)),
        ("raw GROUP BY, all 3 enum columns",
         *median_ms(lambda: group_by("bet_type", "sport", "status"), repeat)),
        ("enum_status --counts exact", *median_ms(lambda: status("--counts", "exact"), repeat)),
        ("enum_status (default)", *median_ms(lambda: status(), repeat)),
        ("enum_status --counts estimate",
         *median_ms(lambda: status("--counts", "estimate"), repeat)),
        ("enum_status --counts none", *median_ms(lambda: status("--counts", "none"), repeat)),
    ]
    print_table(f"enum_status on {options.bets:,} bets (in-process, {repeat} runs each)",
                rows, baseline="raw GROUP BY bet_type")
    print_accuracy(status("--counts", "exact"), status("--counts", "estimate"))
    if options.drop:
        drop_database(options.database_name)


def print_accuracy(exact: dict, estimated: dict) -> None:
    """How far the estimates are from the exact counts, per bet type."""
    def by_value(report: dict) -> dict:
        entry = next(item for item in report["enums"] if item["type"] == "bet_type_enum")
        return {item["value"]: item["rows"] for item in entry["values"]}

    truth, guess = by_value(exact), by_value(estimated)
    print()
    print("Estimated vs exact rows per bet type")
    print(f"  {'value':16}  {'exact':>12}  {'estimate':>12}  {'error':>7}")
    for value, rows in truth.items():
        estimate = guess[value]
        error = abs(estimate - rows) / rows * 100 if rows else 0.0
        print(f"  {value:16}  {rows:12,}  {estimate:12,}  {error:6.2f}%")


if __name__ == "__main__":
    main()
