"""After a type swap the rewritten tables have planner statistics again (``ALTER COLUMN …
TYPE`` drops them), so estimates keep working; the old type is gone once the swap commits."""

from __future__ import annotations

import json

import pytest
from django.db.migrations.state import ProjectState

from betintel.enums.operations import CreateEnumType, DeprecateEnumValue, RemoveEnumValue
from tests.helpers import apply_operations, run_command, run_sql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def analysed_table(scratch_types):
    """A type ``a, b, c`` (``c`` deprecated, replaced by ``b``) and an analysed table of it."""
    name, table = scratch_types("kind"), scratch_types("stats")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "b", "c"]),
                                                 DeprecateEnumValue(name, "c", "b")])
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {} NOT NULL, note text)", table, name)
    run_sql("INSERT INTO {} (kind, note) SELECT (ARRAY['a', 'b', 'c'])[1 + i % 3]::{}, 'n' "
            "FROM generate_series(1, 3000) i", table, name)
    run_sql("ANALYZE {}", table)
    return name, table


def _common_values(table: str, column: str) -> list[list[str]]:
    """The most common values ``pg_stats`` has for the column (one list per statistics row)."""
    rows = run_sql(
        "SELECT most_common_vals::text::text[] FROM pg_stats WHERE schemaname = current_schema() "
        "AND tablename = %s AND attname = %s", params=[table, column],
    )
    return [sorted(values) for (values,) in rows]


@pytest.mark.parametrize("atomic", [True, False])
def test_remove_value__analysed_table__statistics_of_converted_column_rebuilt(
    analysed_table, atomic
):
    name, table = analysed_table
    apply_operations("enumapp", ProjectState(), [RemoveEnumValue(name, "c", "b")],
                     atomic=atomic)
    assert run_sql("SELECT kind::text, count(*) FROM {} GROUP BY 1 ORDER BY 1", table) == [
        ("a", 1000), ("b", 2000)]
    assert _common_values(table, "kind") == [["a", "b"]]
    assert run_sql("SELECT count(*) FROM pg_type WHERE typname LIKE 'betintel_swap%%'") == [(0,)]


def test_remove_value__then_enum_status_estimates__per_value_estimates(analysed_table):
    name, table = analysed_table
    apply_operations("enumapp", ProjectState(), [RemoveEnumValue(name, "c", "b")])
    out, err, code = run_command("enum_status", "--json", "--counts", "estimate")
    report = {entry["type"]: entry for entry in json.loads(out)["enums"]}
    values = {value["value"]: value for value in report[name]["values"]}
    assert set(values) == {"a", "b"}
    for value, expected in (("a", 1000), ("b", 2000)):
        assert values[value]["rows_estimated"] is True
        assert values[value]["rows"] is not None
        assert abs(values[value]["rows"] - expected) <= expected * 0.1, values[value]
