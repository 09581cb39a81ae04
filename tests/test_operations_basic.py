"""CreateEnumType, DropEnumType and AddEnumValue: SQL, state, anatomy, routers."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.migrations.migration import Migration
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.writer import MigrationWriter
from django.test.utils import CaptureQueriesContext, override_settings

from betintel.enums import EnumField
from betintel.enums.operations import (
    AddEnumValue,
    CreateEnumType,
    DeprecateEnumValue,
    DropEnumType,
    RemoveEnumValue,
    RenameEnumValue,
)
from tests.helpers import (
    apply_operations,
    enum_labels,
    relfilenode,
    run_sql,
    unapply_operations,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _sql(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def _state_with_field(app_label: str, type_name: str, values: list[str]) -> ProjectState:
    state = ProjectState()
    state.add_model(
        ModelState(
            app_label,
            "Thing",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("kind", EnumField(type_name=type_name, values=values)),
            ],
        )
    )
    return state


class DenyAll:
    def allow_migrate(self, db, app_label, **hints):
        return False


def test_create_type__forwards_and_backwards__sql_captured(scratch_types):
    name = scratch_types("colours")
    operation = CreateEnumType(name, ["red", "it's", 'back\\slash "q"'])
    with CaptureQueriesContext(connection) as forwards:
        state = apply_operations("enumapp", ProjectState(), [operation])
    assert any(f'CREATE TYPE "{name}" AS ENUM' in query for query in _sql(forwards))
    assert enum_labels(name) == ["red", "it's", 'back\\slash "q"']

    with CaptureQueriesContext(connection) as backwards:
        unapply_operations("enumapp", state, [operation])
    assert any(query.startswith(f'DROP TYPE "public"."{name}"') for query in _sql(backwards))
    assert "CASCADE" not in " ".join(_sql(backwards))
    assert enum_labels(name) == []


def test_create_type__already_identical__is_a_no_op(scratch_types):
    name = scratch_types("colours")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "b"])])
    with CaptureQueriesContext(connection) as captured:
        apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "b"])])
    assert not any("CREATE TYPE" in query for query in _sql(captured))


def test_create_type__exists_with_other_values__refused_and_named(scratch_types):
    name = scratch_types("colours")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "b"])])
    with pytest.raises(ValueError, match=f"Enum type {name} already exists"):
        apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "c"])])
    assert enum_labels(name) == ["a", "b"]


def test_drop_type__forwards_and_backwards(scratch_types):
    name = scratch_types("colours")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["x", "y"])])
    operation = DropEnumType(name, ["x", "y"])
    state = apply_operations("enumapp", ProjectState(), [operation])
    assert enum_labels(name) == []
    unapply_operations("enumapp", state, [operation])
    assert enum_labels(name) == ["x", "y"]


def test_drop_type__backwards_when_type_already_there__is_a_no_op(scratch_types):
    name = scratch_types("colours")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["x", "y"])])
    with CaptureQueriesContext(connection) as captured:
        unapply_operations("enumapp", ProjectState(), [DropEnumType(name, ["x", "y"])])
    assert not any("CREATE TYPE" in query for query in _sql(captured))
    assert enum_labels(name) == ["x", "y"]


def test_drop_type__still_used__refused_naming_the_column(scratch_types):
    name = scratch_types("colours")
    table = scratch_types("things")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["x"])])
    run_sql("CREATE TABLE {} (kind {})", table, name)
    with pytest.raises(ValueError, match=f"column kind of table {table}"):
        apply_operations("enumapp", ProjectState(), [DropEnumType(name, ["x"])])
    assert enum_labels(name) == ["x"]


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ({}, ["a", "c", "b"]),
        ({"before": "c"}, ["a", "b", "c"]),
        ({"after": "a"}, ["a", "b", "c"]),
    ],
)
def test_add_value__positions__database_and_state_agree(scratch_types, position, expected):
    name = scratch_types("letters")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a", "c"])])
    operation = AddEnumValue(name, "b", **position)
    with CaptureQueriesContext(connection) as captured:
        state = apply_operations(
            "enumapp", _state_with_field("enumapp", name, ["a", "c"]), [operation]
        )
    assert any("ADD VALUE IF NOT EXISTS 'b'" in query for query in _sql(captured))
    assert enum_labels(name) == expected
    field = state.models["enumapp", "thing"].fields["kind"]
    assert field.enum_values == expected


def test_add_value__run_twice__second_is_a_no_op(scratch_types):
    name = scratch_types("letters")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a"])])
    apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "b")])
    apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "b")])
    assert enum_labels(name) == ["a", "b"]


def test_add_value__table_with_rows__not_rewritten():
    from tests.enumapp.models import Swatch

    Swatch.objects.bulk_create(Swatch(colour="red", name=f"swatch {n}") for n in range(500))
    before = relfilenode("enumapp_swatch")
    operation = AddEnumValue("colour_enum", "teal_zz_test")
    try:
        apply_operations("enumapp", ProjectState(), [operation])
        assert "teal_zz_test" in enum_labels("colour_enum")
        assert relfilenode("enumapp_swatch") == before
        Swatch.objects.filter(pk=Swatch.objects.first().pk).update(colour="teal_zz_test")
        assert Swatch.objects.filter(colour="teal_zz_test").count() == 1
    finally:
        Swatch.objects.all().delete()
        unapply_operations("enumapp", ProjectState(), [operation])
    assert "teal_zz_test" not in enum_labels("colour_enum")


def test_operations__router_forbids__nothing_runs(scratch_types):
    name = scratch_types("letters")
    with override_settings(DATABASE_ROUTERS=[DenyAll()]), CaptureQueriesContext(
        connection
    ) as captured:
        apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a"])])
        apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "b")])
    assert not any(name in query for query in _sql(captured))
    assert enum_labels(name) == []


@pytest.mark.parametrize(
    ("operation", "description", "fragment"),
    [
        (CreateEnumType("sport_enum", ["a"]), "Create enum type sport_enum", "create_sport_enum"),
        (DropEnumType("sport_enum", ["a"]), "Drop enum type sport_enum", "drop_sport_enum"),
        (
            AddEnumValue("bet_type_enum", "player_steals"),
            "Add value 'player_steals' to enum type bet_type_enum",
            "bet_type_enum_add_player_steals",
        ),
        (
            AddEnumValue("bet_type_enum", "alt lines", before="totals"),
            "Add value 'alt lines' to enum type bet_type_enum before 'totals'",
            "bet_type_enum_add_alt_lines",
        ),
        (
            RenameEnumValue("bet_type_enum", "totals", "over_under"),
            "Rename value 'totals' of enum type bet_type_enum to 'over_under'",
            "bet_type_enum_rename_totals_over_under",
        ),
        (
            DeprecateEnumValue("bet_type_enum", "spreads", "h2h"),
            "Deprecate value 'spreads' of enum type bet_type_enum (rows move to 'h2h')",
            "bet_type_enum_deprecate_spreads",
        ),
        (
            DeprecateEnumValue("sport_enum", "tennis"),
            "Deprecate value 'tennis' of enum type sport_enum",
            "sport_enum_deprecate_tennis",
        ),
        (
            RemoveEnumValue("bet_type_enum", "spreads", "h2h"),
            "Remove value 'spreads' from enum type bet_type_enum, moving its rows to 'h2h'",
            "bet_type_enum_remove_spreads",
        ),
        (
            RemoveEnumValue("sport_enum", "tennis"),
            "Remove value 'tennis' from enum type sport_enum",
            "sport_enum_remove_tennis",
        ),
    ],
)
def test_operation__describe_and_name_fragment(operation, description, fragment):
    assert operation.describe() == description
    assert operation.migration_name_fragment == fragment


@pytest.mark.parametrize(
    "operation",
    [
        CreateEnumType("sport_enum", ["a", "b"]),
        DropEnumType("sport_enum", ["a", "b"]),
        AddEnumValue("bet_type_enum", "x"),
        AddEnumValue("bet_type_enum", "x", before="h2h"),
        AddEnumValue("bet_type_enum", "x", after="h2h"),
        RenameEnumValue("bet_type_enum", "a", "it's \\ \"b\""),
        DeprecateEnumValue("bet_type_enum", "a"),
        DeprecateEnumValue("bet_type_enum", "a", replacement="b"),
        RemoveEnumValue("bet_type_enum", "a"),
        RemoveEnumValue("bet_type_enum", "a", replacement="b"),
    ],
)
def test_operation__deconstruct_round_trips_through_migration_writer(operation):
    name, args, kwargs = operation.deconstruct()
    assert args == []
    assert None not in kwargs.values()  # defaults are left out
    migration = Migration("0099_x", "bets")
    migration.operations = [operation]
    source = MigrationWriter(migration).as_string()
    assert "import betintel.enums.operations" in source
    namespace: dict = {}
    exec(compile(source, "<migration>", "exec"), namespace)  # noqa: S102
    rebuilt = namespace["Migration"]("0099_x", "bets").operations[0]
    assert type(rebuilt) is type(operation)
    assert rebuilt.deconstruct() == operation.deconstruct()


def test_operations__migration_writer__named_from_the_operations_package():
    # Written migrations import betintel.enums.operations and name each operation from it,
    # whichever of its modules defines the class.
    migration = Migration("0099_x", "bets")
    migration.operations = [
        CreateEnumType("sport_enum", ["a"]),
        DropEnumType("sport_enum", ["a"]),
        AddEnumValue("sport_enum", "b"),
        RenameEnumValue("sport_enum", "a", "c"),
        DeprecateEnumValue("sport_enum", "c"),
        RemoveEnumValue("sport_enum", "c"),
    ]
    source = MigrationWriter(migration).as_string()

    imports = [line for line in source.splitlines() if line.startswith("import betintel")]
    named = [line.strip() for line in source.splitlines() if line.strip().startswith("betintel.")]
    assert imports == ["import betintel.enums.operations"]
    assert named == [
        f"betintel.enums.operations.{type(operation).__name__}("
        for operation in migration.operations
    ]


def test_sqlmigrate__shows_enum_sql():
    from tests.helpers import run_command

    out, _err, code = run_command("sqlmigrate", "bets", "0002")
    assert code == 0
    assert "ALTER TYPE \"bet_type_enum\" ADD VALUE IF NOT EXISTS 'player_assists'" in out
