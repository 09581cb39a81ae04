"""Benchmark the bets change list on millions of bets against Django's stock admin.

Both serve the same rows to a logged-in superuser through Django's test Client: ours (bets
per bet type, estimated counts) at /admin/bets/bet/, a plain ``ModelAdmin`` on a throwaway
AdminSite at /plain-admin/bets/bet/. Run by hand from the project root:

    .venv/bin/python -m bench.bench_changelist [--bets 10000000] [--repeat 7] [--drop]
"""

from __future__ import annotations

from bench.common import arguments, drop_database, ensure_bets, median_ms, print_table, setup_django

PAGES = [
    ("bets change list", "/admin/bets/bet/", "/plain-admin/bets/bet/"),
    ("filtered: bet type h2h", "/admin/bets/bet/?bet_type__exact=h2h",
     "/plain-admin/bets/bet/?bet_type__exact=h2h"),
]


def main() -> None:
    options = arguments(__doc__).parse_args()
    setup_django(options.database_name)
    ensure_bets(options.bets)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment(debug=False)
    settings.ROOT_URLCONF = "bench.urls"
    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)

    def load(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}; expected 200.")

    for title, ours, plain in PAGES:
        for label, url in (("betintel admin", ours), ("Django default", plain)):
            with CaptureQueriesContext(connection) as queries:
                load(url)
            counts = sum("COUNT(" in query["sql"] for query in queries.captured_queries)
            print(f"{title}, {label}: {len(queries)} queries, {counts} of them COUNT(*)")
        rows = [
            ("betintel admin", *median_ms(lambda url=ours: load(url), options.repeat)),
            ("Django default", *median_ms(lambda url=plain: load(url), options.repeat)),
        ]
        print_table(f"{title} on {options.bets:,} bets (median of {options.repeat} loads)",
                    rows, baseline="Django default")
        print()
    if options.drop:
        drop_database(options.database_name)


if __name__ == "__main__":
    main()
