from __future__ import annotations

import pytest
from django.db import connection
from psycopg import sql

from tests.helpers import unique_name


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
