"""Converting a character column to an enum type and back (SPEC §4b), on real tables with rows,
a default, ``db_index``, a unique constraint, a partial index, a CHECK constraint and NULLs."""

from __future__ import annotations

import pytest
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.writer import MigrationWriter
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from betintel.enums import EnumField
from betintel.enums.conversion import ConvertFromEnumField, ConvertToEnumField
from betintel.enums.errors import RefusedChange
from betintel.enums.operations import CreateEnumType, DropEnumType
from tests.helpers import (
    apply_operations,
    catalog_snapshot,
    run_sql,
    unapply_operations,
    unique_name,
)

pytestmark = pytest.mark.django_db(transaction=True)

LABELS = ["red", "green", "blue"]


class _Names:
    def __init__(self, scratch_types):
        self.table = scratch_types("adopt")
        self.type = scratch_types("colour")
        self.partial = unique_name("ix")
        self.unique = unique_name("uq")
        self.check = unique_name("ck")


def _char_field(**extra):
    options = {"max_length": 20, "db_index": True, "null": True, "db_default": "red"}
    options.update(extra)
    return models.CharField(choices=[(v, v.title()) for v in LABELS], **options)


def _enum_field(names: _Names, **extra):
    options = {"db_index": True, "null": True, "db_default": "red"}
    options.update(extra)
    return EnumField(type_name=names.type, values=LABELS, **options)


def _model(names: _Names, colour) -> ModelState:
    return ModelState(
        "enumapp",
        "Adopted",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("colour", colour),
            ("serial", models.IntegerField()),
            ("note", models.CharField(max_length=20, blank=True)),
        ],
        options={
            "db_table": names.table,
            "indexes": [
                models.Index(
                    fields=["serial"], name=names.partial, condition=models.Q(colour="blue")
                )
            ],
            "constraints": [
                models.UniqueConstraint(fields=["colour", "serial"], name=names.unique),
                models.CheckConstraint(
                    condition=~models.Q(colour="green", note=""), name=names.check
                ),
            ],
        },
    )


def _state(names: _Names, colour) -> ProjectState:
    state = ProjectState()
    state.add_model(_model(names, colour))
    return state


def _text_field():
    return models.TextField(choices=[(v, v.title()) for v in LABELS], db_index=True, null=True,
                            db_default="red")


def _create_table(names: _Names, rows: bool = True, character=None) -> ProjectState:
    """The table as Django makes it for the character field, with 300 rows (some NULL)."""
    from django.db.migrations.operations import CreateModel

    model = _model(names, character or _char_field())
    create = CreateModel(model.name, list(model.fields.items()), options=model.options)
    state = apply_operations("enumapp", ProjectState(), [create])
    if rows:
        run_sql(
            "INSERT INTO {} (colour, serial, note) "
            "SELECT CASE WHEN n % 10 = 0 THEN NULL ELSE (ARRAY['red','green','blue'])[1 + n % 3] "
            "END, n, 'n' || n FROM generate_series(1, 300) n",
            names.table,
        )
    return state


def _rows(names: _Names) -> list[tuple]:
    return run_sql("SELECT id, colour::text, serial, note FROM {} ORDER BY id", names.table)


def _column(names: _Names) -> tuple:
    (row,) = run_sql(
        "SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attname = 'colour'",
        params=[names.table],
    )
    return row


def _table_catalog(names: _Names, snapshot: dict) -> dict:
    """The parts of a catalog snapshot that belong to the test's table and type."""
    return {
        "columns": [row for row in snapshot["columns"] if row[0] == names.table],
        "indexes": sorted(
            (name, definition) for name, definition in snapshot["indexes"]
            if f" ON public.{names.table} " in definition or f' ON {names.table} ' in definition
        ),
        "constraints": [row for row in snapshot["constraints"] if row[0] == names.table],
        "types": [row for row in snapshot["types"] if row[0] == names.type],
    }


def _to_enum(names: _Names):
    return [CreateEnumType(names.type, LABELS), ConvertToEnumField("adopted", "colour",
                                                                  _enum_field(names))]


def test_convert_to_enum__rows_default_indexes_constraints_and_nulls_kept(scratch_types):
    names = _Names(scratch_types)
    state = _create_table(names)
    rows_before = _rows(names)
    apply_operations("enumapp", state, _to_enum(names))
    assert _rows(names) == rows_before
    assert _column(names) == (names.type, False, f"'red'::{names.type}")
    indexes = dict(run_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", params=[names.table]
    ))
    assert not [name for name in indexes if name.endswith("_like")]
    assert not [d for d in indexes.values() if "pattern_ops" in d]
    assert f"WHERE (colour = 'blue'::{names.type})" in indexes[names.partial]
    assert "UNIQUE INDEX" in indexes[names.unique]
    assert [d for d in indexes.values() if d.endswith("USING btree (colour)")]
    (check,) = run_sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
        params=[names.check],
    )
    assert f"'green'::{names.type}" in check[0]
    # The database now refuses what the type lacks, and the default is the enum's.
    run_sql("INSERT INTO {} (serial, note) VALUES (1000, 'x')", names.table)
    assert run_sql("SELECT colour::text FROM {} WHERE serial = 1000", names.table) == [("red",)]


@pytest.mark.parametrize("character", [_char_field, _text_field], ids=["varchar", "text"])
def test_convert_to_enum_and_back__catalog_as_before(scratch_types, character):
    names = _Names(scratch_types)
    state = _create_table(names, character=character())
    before = _table_catalog(names, catalog_snapshot())
    rows_before = _rows(names)
    operations = _to_enum(names)
    apply_operations("enumapp", state.clone(), operations)
    assert _table_catalog(names, catalog_snapshot()) != before
    unapply_operations("enumapp", state, operations)
    assert _table_catalog(names, catalog_snapshot()) == before
    assert _rows(names) == rows_before


@pytest.mark.parametrize("stray", ["", "  ", "red ", "Red", "purple"])
def test_convert_to_enum__stray_values__refused_naming_them_nothing_changed(
    scratch_types, stray
):
    names = _Names(scratch_types)
    state = _create_table(names)
    run_sql("UPDATE {} SET colour = %s WHERE serial <= 4", names.table, params=[stray])
    before = catalog_snapshot()
    rows_before = _rows(names)
    with pytest.raises(RefusedChange) as refused:
        apply_operations("enumapp", state, _to_enum(names))
    message = str(refused.value)
    assert f"{stray!r} (4 rows)" in message
    assert f"column colour of table public.{names.table}" in message.replace("Column", "column")
    assert "data migration" in message and "choices" in message
    assert catalog_snapshot() == before
    assert _rows(names) == rows_before


def test_convert_to_enum__many_stray_values__ten_named_and_the_rest_counted(scratch_types):
    names = _Names(scratch_types)
    state = _create_table(names)
    run_sql("UPDATE {} SET colour = 'x' || serial WHERE serial <= 12", names.table)
    with pytest.raises(RefusedChange) as refused:
        apply_operations("enumapp", state, _to_enum(names))
    message = str(refused.value)
    assert message.count(" (1 row)") == 10
    assert "and 2 other values" in message


def test_convert_to_enum__default_not_a_label__refused_nothing_changed(scratch_types):
    names = _Names(scratch_types)
    state = _create_table(names)
    run_sql("ALTER TABLE {} ALTER COLUMN colour SET DEFAULT 'mauve'", names.table)
    before = catalog_snapshot()
    with pytest.raises(RefusedChange, match="'mauve'"):
        apply_operations("enumapp", state, _to_enum(names))
    assert catalog_snapshot() == before


def test_convert_from_enum__escape_hatch_both_ways_and_type_dropped(scratch_types):
    names = _Names(scratch_types)
    state = _create_table(names)
    rows_before = _rows(names)
    char_catalog = _table_catalog(names, catalog_snapshot())
    state = apply_operations("enumapp", state, _to_enum(names), name="0002_to_enum")
    enum_catalog = _table_catalog(names, catalog_snapshot())
    back = [
        ConvertFromEnumField("adopted", "colour", _char_field()),
        DropEnumType(names.type, LABELS),
    ]
    apply_operations("enumapp", state.clone(), back, name="0003_from_enum")
    assert _table_catalog(names, catalog_snapshot()) == char_catalog
    assert _rows(names) == rows_before
    unapply_operations("enumapp", state, back, name="0003_from_enum")
    assert _table_catalog(names, catalog_snapshot()) == enum_catalog
    assert _rows(names) == rows_before


def test_convert_from_enum__values_longer_than_max_length__refused(scratch_types):
    names = _Names(scratch_types)
    state = _create_table(names)
    state = apply_operations("enumapp", state, _to_enum(names))
    before = catalog_snapshot()
    with pytest.raises(RefusedChange, match=r"longer than 4 characters: 'green' \(\d+ rows\)"):
        apply_operations(
            "enumapp", state, [ConvertFromEnumField("adopted", "colour", _char_field(max_length=4))]
        )
    assert catalog_snapshot() == before


def _array_model(names: _Names, base) -> ModelState:
    return ModelState(
        "enumapp",
        "Palette",
        [("id", models.BigAutoField(primary_key=True)),
         ("colours", ArrayField(base, null=True))],
        options={"db_table": names.table},
    )


def test_array_of_char__to_array_of_enum_and_back(scratch_types):
    from django.db.migrations.operations import CreateModel

    names = _Names(scratch_types)
    model = _array_model(names, models.CharField(max_length=10, choices=[("red", "Red")]))
    state = apply_operations(
        "enumapp", ProjectState(), [CreateModel(model.name, list(model.fields.items()),
                                                options=model.options)]
    )
    run_sql("INSERT INTO {} (colours) VALUES (%s), (NULL), (%s), (%s)", names.table,
            params=[["red", "blue"], [], ["green", None]])
    rows = run_sql("SELECT id, colours::text FROM {} ORDER BY id", names.table)
    before = _table_catalog(names, catalog_snapshot())
    operations = [
        CreateEnumType(names.type, LABELS),
        ConvertToEnumField("palette", "colours",
                           ArrayField(EnumField(type_name=names.type, values=LABELS), null=True)),
    ]
    apply_operations("enumapp", state.clone(), operations)
    (column_type,) = run_sql(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'colours'", params=[names.table])
    assert column_type == (f"{names.type}[]",)
    assert run_sql("SELECT id, colours::text FROM {} ORDER BY id", names.table) == rows
    unapply_operations("enumapp", state, operations)
    assert _table_catalog(names, catalog_snapshot()) == before
    assert run_sql("SELECT id, colours::text FROM {} ORDER BY id", names.table) == rows


def test_array_of_char__stray_element__refused_with_rows_holding_it(scratch_types):
    from django.db.migrations.operations import CreateModel

    names = _Names(scratch_types)
    model = _array_model(names, models.CharField(max_length=10))
    state = apply_operations(
        "enumapp", ProjectState(), [CreateModel(model.name, list(model.fields.items()),
                                                options=model.options)]
    )
    run_sql("INSERT INTO {} (colours) VALUES (%s), (%s), (%s)", names.table,
            params=[["red", ""], ["", ""], ["blue"]])
    before = catalog_snapshot()
    operations = [
        CreateEnumType(names.type, LABELS),
        ConvertToEnumField("palette", "colours",
                           ArrayField(EnumField(type_name=names.type, values=LABELS), null=True)),
    ]
    with pytest.raises(RefusedChange, match=r"'' \(2 rows\)"):
        apply_operations("enumapp", state, operations)
    assert catalog_snapshot() == before


def test_convert__lock_taken_under_the_lock_budget_and_one_alter(scratch_types):
    names = _Names(scratch_types)
    state = _create_table(names)
    with CaptureQueriesContext(connection) as captured:
        apply_operations("enumapp", state, _to_enum(names))
    statements = [query["sql"] for query in captured.captured_queries]
    locks = [i for i, s in enumerate(statements) if s.startswith("LOCK TABLE")]
    alters = [i for i, s in enumerate(statements) if "ALTER COLUMN \"colour\" TYPE" in s]
    assert len(locks) == 1 and len(alters) == 1 and locks[0] < alters[0]
    assert "USING (\"colour\"::text)::" in statements[alters[0]]
    assert any("set_config('lock_timeout'" in s for s in statements[: locks[0]])


def test_operations__deconstruct_and_round_trip_through_the_writer(scratch_types):
    from django.db.migrations import Migration

    names = _Names(scratch_types)
    for operation in [ConvertToEnumField("adopted", "colour", _enum_field(names)),
                      ConvertFromEnumField("adopted", "colour", _char_field())]:
        migration = Migration("0002_convert", "enumapp")
        migration.operations = [operation]
        text, _imports = MigrationWriter(migration).as_string(), None
        namespace: dict = {}
        exec(compile(text, "<migration>", "exec"), namespace)
        (rebuilt,) = namespace["Migration"].operations
        assert type(rebuilt) is type(operation)
        assert rebuilt.deconstruct()[2].keys() == operation.deconstruct()[2].keys()
        assert rebuilt.field.deconstruct() == operation.field.deconstruct()
        assert "choices" not in text.split("field=")[1].split("\n")[0] or isinstance(
            operation, ConvertFromEnumField)
    assert ConvertToEnumField("adopted", "colour", _enum_field(names)).describe() == (
        f"Convert field colour on adopted to enum type {names.type}"
    )
    assert ConvertToEnumField("adopted", "colour", _enum_field(names)
                              ).migration_name_fragment == "adopted_colour_to_enum"


def test_operations__written_by_the_package_path_not_its_modules(scratch_types):
    from django.db.migrations import Migration

    names = _Names(scratch_types)
    migration = Migration("0002_convert", "enumapp")
    migration.operations = [ConvertToEnumField("adopted", "colour", _enum_field(names)),
                            ConvertFromEnumField("adopted", "colour", _char_field())]
    text = MigrationWriter(migration).as_string()
    assert "import betintel.enums.conversion\n" in text
    assert "betintel.enums.conversion.ConvertToEnumField(" in text
    assert "betintel.enums.conversion.ConvertFromEnumField(" in text


def test_convert__other_session_holds_the_table__gives_up_naming_it_nothing_changed(
    scratch_types, settings
):
    from betintel.enums.errors import LockNotAcquired
    from tests.processes import second_session

    settings.ENUM_LOCK_TIMEOUT = "100ms"
    settings.ENUM_LOCK_RETRIES = 1
    names = _Names(scratch_types)
    state = _create_table(names)
    before = catalog_snapshot()
    holder = second_session(autocommit=False)
    try:
        holder.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(names.table)))
        pid = holder.info.backend_pid
        with pytest.raises(LockNotAcquired) as refused:
            apply_operations("enumapp", state, _to_enum(names))
        assert f"pid {pid}" in str(refused.value)
        assert names.table in str(refused.value)
    finally:
        holder.close()
    assert catalog_snapshot() == before


def test_convert__stray_row_committed_while_waiting_for_the_lock__refused_row_kept(
    scratch_types, settings
):
    import threading

    from tests.processes import second_session

    settings.ENUM_LOCK_TIMEOUT = "5s"
    names = _Names(scratch_types)
    state = _create_table(names)
    before = catalog_snapshot()
    writer = second_session(autocommit=False)
    try:
        # Not yet committed: the count before the lock cannot see it; the lock waits for it.
        writer.execute(sql.SQL("INSERT INTO {} (colour, serial, note) VALUES ('teal', -1, 'w')")
                       .format(sql.Identifier(names.table)))
        timer = threading.Timer(1.0, writer.commit)
        timer.start()
        with pytest.raises(RefusedChange, match=r"'teal' \(1 row\)"):
            apply_operations("enumapp", state, _to_enum(names))
        timer.join()
    finally:
        writer.close()
    assert catalog_snapshot() == before
    assert run_sql("SELECT colour FROM {} WHERE serial = -1", names.table) == [("teal",)]


class _DenyAll:
    def allow_migrate(self, db, app_label, **hints):
        return False


def test_convert__router_forbids__nothing_runs(scratch_types):
    from django.test.utils import override_settings

    names = _Names(scratch_types)
    state = _create_table(names, rows=False)
    before = catalog_snapshot()
    with override_settings(DATABASE_ROUTERS=[_DenyAll()]), CaptureQueriesContext(
        connection
    ) as captured:
        apply_operations("enumapp", state, _to_enum(names))
    assert not [q for q in captured.captured_queries if "ALTER" in q["sql"] or
                "CREATE" in q["sql"]]
    assert catalog_snapshot() == before


def test_convert__view_uses_the_column__refused_naming_it_nothing_changed(scratch_types):
    names = _Names(scratch_types)
    view = scratch_types("view")
    state = _create_table(names)
    run_sql("CREATE VIEW {} AS SELECT colour FROM {}", view, names.table)
    before = catalog_snapshot()
    rows_before = _rows(names)
    try:
        with pytest.raises(RefusedChange) as refused:
            apply_operations("enumapp", state, _to_enum(names))
        message = str(refused.value)
        assert view in message and "Nothing was changed" in message
        assert catalog_snapshot() == before
        assert _rows(names) == rows_before
    finally:
        run_sql("DROP VIEW {}", view)
