"""Benchmark enum_status on millions of bets: estimated, default and exact counts vs GROUP BY.

Run by hand from the project root (the first run fills its own database, which takes minutes):

    .venv/bin/python -m bench.bench_status [--bets 10000000] [--repeat 7] [--drop] [--explain]

Exact counts read ``bets_bet`` once for its three enum columns; the ratio printed last compares
them with a single raw ``GROUP BY`` of one column, measured side by side (target: at most 1.3x
the ``GROUP BY`` that reads the table).
"""

from __future__ import annotations

import io
import json
import statistics
import time

from bench.common import arguments, drop_database, ensure_bets, median_ms, print_table, setup_django

#: The playbook's own query, per column. Fixed names from this file, not input.
GROUP_BY = {
    "bet_type": "SELECT bet_type, count(*) FROM bets_bet GROUP BY bet_type",
    "sport": "SELECT sport, count(*) FROM bets_bet GROUP BY sport",
    "status": "SELECT status, count(*) FROM bets_bet GROUP BY status",
}
TARGET_RATIO = 1.3


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--explain", action="store_true",
                        help="Also print EXPLAIN ANALYZE of the query behind exact counts.")
    options = parser.parse_args()
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
                cursor.execute(GROUP_BY[column])
                cursor.fetchall()

    counting_sql = counting_query()

    def counting_query_alone() -> None:
        with connection.cursor() as cursor:
            cursor.execute(counting_sql)
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
    print_ratios(options.bets, repeat, {
        "raw GROUP BY status (reads the table)": lambda: group_by("status"),
        "raw GROUP BY bet_type (index-only scan of its index)": lambda: group_by("bet_type"),
        "the exact-count query alone (one read, 3 columns)": counting_query_alone,
        "enum_status --counts exact": lambda: status("--counts", "exact"),
        "none: enum_status --counts none": lambda: status("--counts", "none"),
    })
    print_accuracy(status("--counts", "exact"), status("--counts", "estimate"))
    if options.explain:
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the exact-count query")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + counting_sql)
            for (line,) in cursor.fetchall():
                print(f"  {line}")
    if options.drop:
        drop_database(options.database_name)


def counting_query() -> str:
    """The SQL that exact counts run for ``bets_bet``, as enum_status sends it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from betintel.enums.counts import exact_table_counts
    from betintel.enums.introspection import enum_columns

    columns = [
        column for found in enum_columns(connection).values() for column in found
        if column.table == "bets_bet"
    ]
    with CaptureQueriesContext(connection) as captured:
        exact_table_counts(connection, columns)
    (query,) = captured.captured_queries
    return query["sql"]


def print_ratios(bets: int, repeat: int, runs: dict) -> None:
    """Median time of each run measured in turns (so that load on a shared machine falls on
    all alike), and its ratio to a single raw GROUP BY that reads the table."""
    times: dict[str, list[float]] = {label: [] for label in runs}
    for action in runs.values():
        action()  # warm-up
    for _ in range(repeat):
        for label, action in runs.items():
            started = time.perf_counter()
            action()
            times[label].append((time.perf_counter() - started) * 1000)
    medians = {label: statistics.median(values) for label, values in times.items()}
    overhead = medians.pop("none: enum_status --counts none")
    base_label, index_label = list(runs)[:2]
    width = max(len(label) for label in medians)
    print()
    print(f"Exact counts against a single GROUP BY on {bets:,} bets "
          f"(in turns, median of {repeat})")
    print(f"  {'measurement'.ljust(width)}  {'median ms':>10}  {'ratio':>7}  "
          f"{'vs index-only':>13}")
    for label, median in medians.items():
        print(f"  {label.ljust(width)}  {median:10.2f}  {median / medians[base_label]:6.2f}x  "
              f"{median / medians[index_label]:12.2f}x")
    exact = medians["enum_status --counts exact"]
    ratio = exact / medians[base_label]
    print(f"  enum_status --counts exact / {base_label}: {ratio:.2f}x "
          f"({'within' if ratio <= TARGET_RATIO else 'above'} the {TARGET_RATIO}x target); "
          f"the report around the counts (--counts none) takes {overhead:.1f} ms")


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
