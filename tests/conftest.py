from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from psycopg import sql

from tests.chromium import ChromiumUnavailable, ensure_chromium
from tests.helpers import unique_name
from tests.processes import second_session
from tests.wheel import build_engine_wheel

#: The settings under which the engine's tests run alone: no `audit/`, no `bets/`.
ENGINE_SETTINGS = "tests.engine_settings"

#: Tests of the site: `audit/`, `bets/`, betintel's settings and commands, the embedded server,
#: the browser, seed_demo, and engine tests that take the site's apps as their example. Marked
#: ``site``; under the engine's settings these modules are not even imported. A whole module, or
#: one test of an engine module (``module::test``).
SITE_TESTS = frozenset({
    "test_audit_basic.py",
    "test_audit_chain.py",
    "test_audit_early_entries.py",
    "test_browser.py",
    "test_embedded.py",
    "test_engine_settings.py::test_manage_check__unparsable_environment__settings_import_and_check_names_it",
    "test_error_logging.py",  # betintel's LOGGING
    "test_history.py",  # bets' migrations
    "test_operations_basic.py::test_sqlmigrate__shows_enum_sql",  # bets' 0002
    "test_production_default.py",
    "test_public_api.py",  # what audit/ and bets/ import from the engine
    "test_rolling_deploys.py",
    "test_seed_demo.py",
    "test_site_admin.py",  # bets' and audit's admin pages, the status page on bets' types
    "test_site_integration.py",  # the API and enum_status on bets' types, refusals in audit's log
})

#: Tests of the engine alone: they run under the site's settings and under the engine's.
ENGINE_TESTS = frozenset({
    "test_admin.py",
    "test_adopt_makemigrations.py",
    "test_api.py",
    "test_autodetector_basic.py",
    "test_autodetector_mixin.py",
    "test_autodetector_rules.py",
    "test_checks.py",
    "test_choices.py",
    "test_conversion.py",
    "test_engine_settings.py",
    "test_enum_counts.py",
    "test_enum_status.py",
    "test_feature_flag_source.py",
    "test_inspectdb.py",
    "test_labels_property.py",
    "test_locks.py",
    "test_migrate_concurrency.py",
    "test_migrate_roundtrip.py",
    "test_new_site.py",
    "test_online_concurrency.py",
    "test_online_conversion.py",
    "test_online_crash.py",
    "test_online_swap.py",
    "test_operations_basic.py",
    "test_operations_lifecycle.py",
    "test_packaging.py",
    "test_processes.py",
    "test_search_path.py",
    "test_sqlmigrate.py",
    "test_suite_runs.py",
    "test_swap.py",
    "test_swap_statistics.py",
    "test_validation.py",
})


def engine_alone() -> bool:
    """Whether this run uses the engine's settings, without `audit/` and `bets/`."""
    return settings.SETTINGS_MODULE == ENGINE_SETTINGS


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """Under the engine's settings, site modules are not imported: their apps are missing."""
    if collection_path.name in SITE_TESTS and engine_alone():
        return True
    return None


def pytest_collection_modifyitems(config, items: list[pytest.Item]) -> None:
    """Mark site tests ``site``; keep each run to the tests its settings are for.

    Tests marked ``engine_alone`` (about the engine's settings themselves) run only under
    those settings; site tests never run under them, even when ``-m "not site"`` is forgotten.
    """
    for item in items:
        module = item.path.name
        if module in SITE_TESTS or f"{module}::{item.originalname}" in SITE_TESTS:
            item.add_marker(pytest.mark.site)
    other_run = "site" if engine_alone() else "engine_alone"
    deselected = [item for item in items if item.get_closest_marker(other_run)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other_run)]


@receiver(connection_created, dispatch_uid="tests.allow_audit_truncate")
def allow_audit_truncate(sender, connection, **kwargs) -> None:
    """Let this test process empty the audit log between transactional tests.

    pytest-django's teardown of ``transaction=True`` tests truncates every table, and the log
    refuses TRUNCATE unless the session sets ``betintel.audit_truncate``. Only sessions of the
    pytest process set it: ``manage.py`` processes, as an operator's, are refused.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET betintel.audit_truncate = 'allowed'")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """A Chromium for the browser test; installed by the first run that needs one."""
    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def engine_wheel(tmp_path_factory) -> Path:
    """The engine's wheel, built once per run from this working copy."""
    return build_engine_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def scratch_types(transactional_db):
    """Names for enum types (and tables) a test creates outside Django; dropped afterwards."""
    created: list[str] = []

    def make(prefix: str = "scratch") -> str:
        name = unique_name(prefix)
        created.append(name)
        return name

    yield make
    with connection.cursor() as cursor:
        for name in reversed(created):
            cursor.execute(
                sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(name)).as_string(
                    connection.connection
                )
            )
            cursor.execute(
                sql.SQL("DROP TYPE IF EXISTS {} CASCADE").format(sql.Identifier(name)).as_string(
                    connection.connection
                )
            )


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The name of a new, empty database on the test server; dropped after the test."""
    with second_session() as admin:
        (current,) = admin.execute("SELECT current_database()").fetchone()
        name = unique_name(f"{current[:40]}_fresh")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with second_session() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
