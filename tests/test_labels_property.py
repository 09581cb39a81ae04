"""Any label PostgreSQL accepts survives Create, Add, Rename, Deprecate and Remove unchanged.

Quotes, backslashes, non-ASCII, SQL-looking text and 63-byte labels go through the driver's
quoting; 64-byte labels are refused before the database sees them.
"""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.migrations.state import ModelState, ProjectState
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betintel.enums import EnumField, introspection
from betintel.enums.errors import RefusedChange
from betintel.enums.operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    RemoveEnumValue,
    RenameEnumValue,
)
from betintel.enums.state import state_types
from tests.helpers import apply_operations, enum_labels, run_sql, unapply_operations, unique_name

pytestmark = pytest.mark.django_db(transaction=True)

TRICKY = [
    "it's",
    "back\\slash",
    '"double"',
    "'); DROP TABLE audit_auditlog; --",
    "$$ LANGUAGE sql $$",
    "%s %(x)s {} {0}",
    "naïve – ünïcödé ✓ 中文",
    "\N{SNOWMAN}" * 21,  # 63 bytes
    "x" * 63,
    "é" * 31 + "a",  # 63 bytes
    " leading and trailing ",
    "new\nline",
    "",
]


def _fits(label: str) -> bool:
    return len(label.encode("utf-8")) <= 63


labels = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40).filter(_fits),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(labels, min_size=5, max_size=5, unique=True))
def test_labels__through_the_whole_lifecycle__kept_exactly(values):
    first, second, third, added, renamed = values
    name, table = unique_name("prop"), unique_name("prop_rows")
    try:
        apply_operations("enumapp", ProjectState(), [CreateEnumType(name, [first, second, third])])
        state = apply_operations("enumapp", _state(name, [first, second, third]), [
            AddEnumValue(name, added, before=second),
            RenameEnumValue(name, first, renamed),
        ])
        assert enum_labels(name) == [renamed, added, second, third]
        assert state_types(state)[name].values == [renamed, added, second, third]
        run_sql("CREATE TABLE {} (kind {})", table, name)
        run_sql("INSERT INTO {} VALUES (%s), (%s), (%s)", table, params=[added, added, third])

        state = apply_operations("enumapp", state, [DeprecateEnumValue(name, added, third)])
        existing = introspection.enum_type(connection, name)
        assert introspection.recorded_deprecations(existing.comment) == {added: third}

        remove = RemoveEnumValue(name, added, replacement=third)
        apply_operations("enumapp", state.clone(), [remove])
        assert enum_labels(name) == [renamed, second, third]
        assert run_sql("SELECT kind::text FROM {}", table) == [(third,)] * 3

        unapply_operations("enumapp", state, [remove])
        assert enum_labels(name) == [renamed, added, second, third]
    finally:
        run_sql("DROP TABLE IF EXISTS {}", table)
        run_sql("DROP TYPE IF EXISTS {}", name)


def _state(type_name: str, values: list[str]) -> ProjectState:
    """Migration state with one model using ``type_name``, as an app's migrations build it."""
    state = ProjectState()
    kind = EnumField(type_name=type_name, values=values)
    state.add_model(ModelState("enumapp", "Thing", [("id", models.BigAutoField(primary_key=True)),
                                                    ("kind", kind)]))
    return state


LONG = "é" * 32  # 64 bytes


@pytest.mark.parametrize(
    "operations",
    [
        [CreateEnumType("{}", ["a", LONG])],
        [CreateEnumType("{}", ["a"]), AddEnumValue("{}", LONG)],
        [CreateEnumType("{}", ["a"]), RenameEnumValue("{}", "a", LONG)],
    ],
)
def test_label_of_64_bytes__refused_naming_the_limit(scratch_types, operations):
    name = scratch_types("long")
    for operation in operations:
        operation.name = name
    with pytest.raises(RefusedChange) as refused:
        apply_operations("enumapp", ProjectState(), operations)
    assert "is 64 bytes in UTF-8; PostgreSQL allows at most 63" in str(refused.value)
    assert LONG not in enum_labels(name)


def test_label_of_63_bytes__accepted_everywhere(scratch_types):
    name = scratch_types("long")
    exact = "é" * 31 + "a"
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", exact]),
                                                 RenameEnumValue(name, exact, "b" * 63),
                                                 AddEnumValue(name, exact, after="a")])
    assert enum_labels(name) == ["a", exact, "b" * 63]
