"""The subprocess helpers reach the very test database the test sees."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.processes import run_manage, second_session


@pytest.mark.django_db(transaction=True)
def test_run_manage__subprocess_sees_the_test_database():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE processes_probe (id int)")
    try:
        done = run_manage("dbshell", "--", "-At", "-c",
                          "SELECT current_database(), to_regclass('processes_probe') IS NOT NULL")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{connection.settings_dict['NAME']}|t"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE processes_probe")


@pytest.mark.django_db(transaction=True)
def test_second_session__is_another_backend():
    with second_session() as other:
        (pid,) = other.execute("SELECT pg_backend_pid()").fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
