"""``seed_demo``: realistic demo bets, fast, and a demo admin to look at them with."""

from __future__ import annotations

import random
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connections, transaction
from django.utils import timezone
from tqdm import tqdm

from audit.models import AuditAction, AuditLog
from bets import seeding

DEFAULT_BETS = 20_000
ADMIN_USERNAME = ADMIN_PASSWORD = "admin"
#: Serialises concurrent runs, so two of them cannot both top the table up.
LOCK_NAME = "bets.seed_demo"


class ProgressStream:
    """A file for tqdm on top of a command's output wrapper.

    The wrapper would end each of tqdm's carriage-return redraws with a newline and colour it
    as an error; this writes them as they are.
    """

    def __init__(self, wrapper: OutputWrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, style_func=str, ending="")

    def flush(self) -> None:
        self._wrapper.flush()


class Command(BaseCommand):
    help = (
        "Fill the database with realistic demo bets (all sports, writable bet types and "
        "statuses) using PostgreSQL COPY, and make sure a demo superuser admin/admin exists. "
        "--bets N brings the table to N bets in total: only the missing ones are added, so "
        "running it again never duplicates data."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--bets",
            type=int,
            default=DEFAULT_BETS,
            metavar="N",
            help=(
                f"Total number of bets the table should hold (default {DEFAULT_BETS}). Only "
                "the difference to the bets already there is added; nothing is deleted."
            ),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Seed for the random generator, for reproducible data (default: a new one).",
        )
        parser.add_argument(
            "--no-admin",
            action="store_false",
            dest="admin",
            help="Do not create the demo superuser admin (password admin) when it is missing.",
        )
        parser.add_argument(
            "--database",
            default="default",
            help="Database alias to seed (default: default).",
        )

    def handle(self, *args, bets: int, seed: int | None, admin: bool, database: str, **options):
        if bets < 0:
            raise CommandError(
                f"--bets must be zero or a positive number of bets, not {bets}; "
                "pass e.g. --bets 20000."
            )
        if database not in connections:
            raise CommandError(
                f"Unknown database alias {database!r}; use one of: {', '.join(connections)}."
            )
        self.verbosity = options["verbosity"]
        plan = seeding.SeedPlan.current()
        if plan.missing():
            raise CommandError(
                "No value of " + ", ".join(plan.missing()) + " may be written (all deprecated "
                "or behind feature flags that are off); switch a flag on in FEATURE_FLAGS or "
                "add an active member before seeding."
            )
        self.report_plan(plan)
        with transaction.atomic(using=database):
            with connections[database].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [LOCK_NAME])
            if admin:
                self.ensure_admin(database)
            existing = seeding.existing_count(database)
            missing = max(0, bets - existing)
            if missing:
                generator = seeding.DemoBets(plan, random.Random(seed), timezone.now())
                elapsed = self.write_bets(generator, missing, database)
                self.record(generator, missing, existing + missing, database)
        # Estimated counts elsewhere read these statistics: refresh them now, not at autovacuum's
        # leisure.
        seeding.analyze(database)
        if not missing:
            self.info(
                f"The table already holds {existing} bets (asked for {bets}); nothing to add.",
                self.style.SUCCESS,
            )
            return
        rate = missing / elapsed if elapsed else float("inf")
        self.info(
            f"Seeded {missing} demo bets in {elapsed:.1f}s ({rate:,.0f} bets/s); "
            f"the table now holds {existing + missing} bets.",
            self.style.SUCCESS,
        )

    def info(self, message: str, style=None) -> None:
        """Write ``message`` unless the command runs with --verbosity 0."""
        if self.verbosity > 0:
            self.stdout.write(message, style)

    def report_plan(self, plan: seeding.SeedPlan) -> None:
        """Say which enum values the demo bets use, and why any are left out."""
        for title, values in (
            ("Sports", plan.sports),
            ("Bet types", plan.bet_types),
            ("Statuses", plan.statuses),
        ):
            self.info(f"{title}: {', '.join(values)}")
        for field_name, skipped in plan.skipped.items():
            for value, reason in skipped.items():
                self.info(f"Not used for {field_name}: {value} ({reason}).", self.style.WARNING)

    def ensure_admin(self, database: str) -> None:
        """Create the demo superuser when missing; never touch an existing user."""
        user_model = get_user_model()
        lookup = {user_model.USERNAME_FIELD: ADMIN_USERNAME}
        if user_model._default_manager.db_manager(database).filter(**lookup).exists():
            self.info(
                f"User {ADMIN_USERNAME!r} already exists; its password was left unchanged."
            )
            return
        user_model._default_manager.db_manager(database).create_superuser(
            **lookup, email="admin@example.com", password=ADMIN_PASSWORD
        )
        self.info(
            f"Created demo superuser {ADMIN_USERNAME!r} with password {ADMIN_PASSWORD!r}.",
            self.style.SUCCESS,
        )

    def write_bets(self, generator: seeding.DemoBets, count: int, database: str) -> float:
        """COPY ``count`` demo bets with a progress bar; return the seconds it took."""
        started = time.perf_counter()
        with tqdm(
            total=count,
            desc="Seeding bets",
            unit="bets",
            unit_scale=True,
            file=ProgressStream(self.stderr),
            disable=self.verbosity == 0,
            mininterval=0.25,
        ) as progress:
            seeding.copy_rows(generator.rows(count), count, progress.update, using=database)
        return time.perf_counter() - started

    def record(self, generator: seeding.DemoBets, count: int, total: int, database: str) -> None:
        """One audit entry for the whole seeding, not one per bet."""
        AuditLog.objects.using(database).create(
            action=AuditAction.BET_PLACED,
            message=f"Seeded {count} demo bet{'' if count == 1 else 's'}",
            details={
                "count": count,
                "total": total,
                "sports": generator.used(0),
                "bet_types": generator.used(1),
                "statuses": generator.used(2),
                "source": "seed_demo",
            },
        )
