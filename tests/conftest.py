from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from psycopg import sql

from tests.chromium import ChromiumUnavailable, ensure_chromium
from tests.helpers import unique_name
from tests.processes import second_session
from tests.wheel import build_engine_wheel


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
