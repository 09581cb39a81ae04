from __future__ import annotations

import pytest
from django.db import connection
from psycopg import sql

from tests.chromium import ChromiumUnavailable, ensure_chromium
from tests.helpers import unique_name


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """A Chromium for the browser test; installed by the first run that needs one."""
    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


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
