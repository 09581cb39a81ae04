"""Converting a big character column to an enum type (and back) online, while writers keep
working (SPEC §4b, with the machinery of §4a).

A temporary migration package for ``enumapp`` creates a scratch model whose ``colour`` is a
``CharField`` with choices, ``db_index``, a database default, NULLs, a unique constraint and a
partial index; its last migration (``atomic = False``) creates the enum type and converts the
column. A real ``manage.py migrate`` applies it on a table above a small
``ENUM_ONLINE_MIN_ROWS`` while writer threads, each with its own psycopg connection, insert,
update and read valid labels by raw SQL; every statement's outcome is kept and every row is
checked afterwards.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import threading
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from tests.helpers import unique_name
from tests.online_helpers import (
    MigrationCopy,
    WriterThread,
    leftovers,
    start_writers,
    stop_writers,
    wait_for,
    writer_session,
)
from tests.processes import run_manage, second_session

pytestmark = pytest.mark.django_db(transaction=True)

LABELS = ["red", "green", "blue"]
ROWS = 20_000
BATCH = 500

MODEL_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("enumapp", {previous!r})]
    operations = [
        migrations.CreateModel(
            name="Converted",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("colour", models.CharField(
                    max_length=20, choices=[("red", "Red"), ("green", "Green"), ("blue", "Blue")],
                    db_index=True, null=True, db_default="red")),
                ("serial", models.BigIntegerField()),
            ],
            options={{
                "db_table": {table!r},
                "indexes": [models.Index(fields=["serial"], name={partial!r},
                                         condition=models.Q(colour="blue"))],
                "constraints": [models.UniqueConstraint(fields=["colour", "serial"],
                                                        name={unique!r})],
            }},
        ),
    ]
"""

CONVERSION_MIGRATION = """\
from django.db import migrations

import betintel.enums
import betintel.enums.conversion
import betintel.enums.operations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("enumapp", "0901_converted")]
    operations = [
        betintel.enums.operations.CreateEnumType(name={type_name!r}, values={labels!r}),
        betintel.enums.conversion.ConvertToEnumField(
            model_name="converted",
            name="colour",
            field=betintel.enums.EnumField(type_name={type_name!r}, values={labels!r},
                                           db_index=True, null=True, db_default="red"),
        ),
    ]
"""


def initial_colour(row_id: int) -> str | None:
    """The colour of initial row ``row_id`` (the fill computes the same)."""
    return None if row_id % 10 == 0 else LABELS[row_id % 3]


class Conversion(MigrationCopy):
    """The scratch model's migrations, its rows, and the probes of the catalog."""

    def __init__(self, tmp_path: Path, settings) -> None:
        self.table = unique_name("converted")
        self.type_name = unique_name("colour")
        self.partial = unique_name("ix")
        self.unique = unique_name("uq")
        super().__init__(tmp_path, settings, "convert_migrations", "convert")
        (self.folder / "0901_converted.py").write_text(textwrap.dedent(MODEL_MIGRATION.format(
            previous=self.real_leaf, table=self.table, partial=self.partial,
            unique=self.unique)))
        (self.folder / "0902_to_enum.py").write_text(textwrap.dedent(
            CONVERSION_MIGRATION.format(type_name=self.type_name, labels=LABELS)))

    def settings(self, **overrides) -> dict:
        return {
            "MIGRATION_MODULES": {"enumapp": self.package},
            "ENUM_SWAP": "auto",
            "ENUM_ONLINE_MIN_ROWS": 1000,
            "ENUM_BACKFILL_BATCH": BATCH,
            **overrides,
        }

    def create(self) -> None:
        """The model's table (by ``migrate``), filled with ``ROWS`` rows and analysed."""
        done = self.migrate_to("0901_converted")
        assert done.returncode == 0, done.stderr
        colours = sql.SQL(", ").join(map(sql.Literal, LABELS))
        with second_session() as session:
            session.execute(sql.SQL(
                "INSERT INTO {} (id, colour, serial) SELECT n, CASE WHEN n % 10 = 0 THEN NULL "
                "ELSE (ARRAY[{}])[1 + n % 3] END, n FROM generate_series(1, {}) AS n"
            ).format(sql.Identifier(self.table), colours, sql.Literal(ROWS)))
            session.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), {})")
                            .format(sql.Literal(self.table), sql.Literal(ROWS)))
            session.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.table)))

    def spawn_migrate(self, target: str, **overrides) -> subprocess.Popen:
        return self.spawn_migrate_to(target, **overrides)

    def migrate_to(self, target: str, **overrides) -> subprocess.CompletedProcess:
        process = self.spawn_migrate(target, **overrides)
        out, err = process.communicate(timeout=300)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def spawn_held_mid_backfill(self, holder: psycopg.Connection) -> subprocess.Popen:
        """Start the conversion's migrate and hold it mid-backfill by a row lock ``holder``
        (a session outside autocommit) takes ahead of it; the running process."""
        process = self.spawn_migrate("0902_to_enum", ENUM_LOCK_TIMEOUT="1s",
                                     ENUM_LOCK_RETRIES=60)
        wait_for(lambda: self.shadow_filled() > 0 or process.poll() is not None,
                 "the backfill to start")
        assert process.poll() is None, process.communicate()
        holder.execute(sql.SQL("SELECT FROM {} WHERE id = %s FOR UPDATE").format(
            sql.Identifier(self.table)), [ROWS * 3 // 4])
        wait_for(lambda: self.waiting() or process.poll() is not None,
                 "the backfill to wait for the locked row")
        assert process.poll() is None, process.communicate()
        return process

    def cleanup(self) -> None:
        self.stop_processes()
        run_manage("migrate", "enumapp", self.real_leaf, "--fake",
                   settings=self.settings(), pythonpath=[self.tmp_path])
        with second_session() as session:
            session.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.Identifier(self.table)))
            session.execute(sql.SQL("DROP TYPE IF EXISTS {} CASCADE").format(
                sql.Identifier(self.type_name)))
            for (name,) in session.execute(
                "SELECT oid::regprocedure::text FROM pg_proc WHERE proname LIKE 'betintel\\_%'"
            ).fetchall():
                session.execute(sql.SQL("DROP FUNCTION IF EXISTS {} CASCADE").format(
                    sql.SQL(name)))

    # -- the catalog -------------------------------------------------------------------------

    def _query(self, query, params=None) -> list[tuple]:
        with second_session() as session:
            return session.execute(query, params).fetchall()

    def column(self) -> tuple[str, str | None, bool]:
        """The column's type, its default, and whether it is NOT NULL."""
        return self._query(
            "SELECT format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid), "
            "a.attnotnull FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
            "AND d.adnum = a.attnum WHERE a.attrelid = %s::regclass AND a.attname = 'colour'",
            [self.table])[0]

    def indexes(self) -> list[tuple[str, bool]]:
        return self._query(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = "
            "i.indexrelid WHERE i.indrelid = %s::regclass ORDER BY 1", [self.table])

    def rows_now(self) -> dict[int, str | None]:
        return dict(self._query(sql.SQL("SELECT id, colour::text FROM {}").format(
            sql.Identifier(self.table))))

    def leftovers(self) -> dict[str, list[str]]:
        return leftovers()

    def shadow_filled(self) -> int:
        """Rows whose shadow column holds a value (the backfill's progress); 0 without one."""
        names = [name for (name,) in self._query(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attname LIKE 'betintel\\_%%'", [self.table])]
        if not names:
            return 0
        return self._query(sql.SQL("SELECT count({}) FROM {}").format(
            sql.Identifier(names[0]), sql.Identifier(self.table)))[0][0]

    def waiting(self) -> list[int]:
        return [pid for (pid,) in self._query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = 'Lock'", [self.application])]

    def under_way(self) -> list[str]:
        """The steps recorded by online conversions of this table left unfinished."""
        from betintel.enums.online.state import conversions_under_way

        return [state["step"] for key, state in conversions_under_way(connection).items()
                if self.table in key]


@pytest.fixture
def conversion(tmp_path, settings):
    made = Conversion(tmp_path, settings)
    made.create()
    yield made
    made.cleanup()


class Writer(WriterThread):
    """One application session inserting, updating (its own rows) and reading valid labels by
    raw SQL, through the column's change of type; it keeps every failure and what it wrote."""

    def __init__(self, number: int, writers: int, scratch: Conversion,
                 stop: threading.Event) -> None:
        super().__init__(number, writers, ROWS, stop)
        self.scratch = scratch
        self.wrote: dict[int, str | None] = {}

    def loop(self) -> None:
        table = sql.Identifier(self.scratch.table)
        # Untyped parameters: the same statements work on the character and the enum column.
        insert = sql.SQL("INSERT INTO {} (colour, serial) VALUES (%s, %s) RETURNING id"
                         ).format(table)
        insert_default = sql.SQL("INSERT INTO {} (serial) VALUES (%s) RETURNING id"
                                 ).format(table)
        update = sql.SQL("UPDATE {} SET colour = %s WHERE id = %s").format(table)
        select = sql.SQL("SELECT colour::text FROM {} WHERE id = %s").format(table)
        serial = 1_000_000 * (self.number + 1)
        with writer_session() as session:
            while not self.stop.is_set():
                pick = self.rng.random()
                colour = self.rng.choice([*LABELS, None])
                try:
                    if pick < 0.25:
                        serial += 1
                        (row_id,) = session.execute(insert, [colour, serial]).fetchone()
                        self.wrote[row_id] = colour
                    elif pick < 0.35:
                        serial += 1
                        (row_id,) = session.execute(insert_default, [serial]).fetchone()
                        self.wrote[row_id] = "red"  # the column's default
                    elif pick < 0.75:
                        row_id = self.own_row()
                        session.execute(update, [colour, row_id])
                        self.wrote[row_id] = colour
                    else:
                        row_id = self.own_row()
                        (read,) = session.execute(select, [row_id]).fetchone()
                        expected = self.wrote.get(row_id, initial_colour(row_id))
                        if read != expected:
                            self.failures.append(f"row {row_id} read {read!r}, not {expected!r}")
                except psycopg.Error as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.statements += 1


def _with_writers(scratch: Conversion, target: str, writers: int = 3):
    """Migrate to ``target`` while writers run; the result, the writers and every row."""
    stop = threading.Event()
    threads = [Writer(number, writers, scratch, stop) for number in range(writers)]
    start_writers(threads, statements=21)
    try:
        done = scratch.migrate_to(target)
    finally:
        stop_writers(threads, stop, timeout=90)
    return done, threads


def _expected(threads: list[Writer], before: dict[int, str | None]) -> dict[int, str | None]:
    expected = dict(before)
    for thread in threads:
        expected.update(thread.wrote)
    return expected


def test_convert_to_enum__big_table_with_writers__online_nothing_fails_rows_and_indexes_kept(
    conversion,
):
    before = conversion.rows_now()
    indexes = conversion.indexes()
    like = [name for name, _valid in indexes if name.endswith("_like")]
    assert like and conversion.column()[0] == "character varying(20)"

    done, threads = _with_writers(conversion, "0902_to_enum")

    assert done.returncode == 0, done.stderr
    assert "online" in done.stdout + done.stderr
    assert [failure for thread in threads for failure in thread.failures] == []
    assert sum(thread.statements for thread in threads) > 0
    assert conversion.rows_now() == _expected(threads, before)
    kind, default, not_null = conversion.column()
    assert kind == conversion.type_name
    assert default == f"'red'::{conversion.type_name}"
    assert not not_null
    # db_index, unique and partial indexes under their old names; Django's _like index gone.
    assert conversion.indexes() == [(name, True) for name, _valid in indexes
                                    if name not in like]
    assert conversion.leftovers() == {}
    assert conversion.under_way() == []


def test_convert_back_to_character__big_table_with_writers__online_like_index_made_again(
    conversion,
):
    indexes = conversion.indexes()
    assert conversion.migrate_to("0902_to_enum").returncode == 0
    before = conversion.rows_now()

    done, threads = _with_writers(conversion, "0901_converted")

    assert done.returncode == 0, done.stderr
    assert "online" in done.stdout + done.stderr
    assert [failure for thread in threads for failure in thread.failures] == []
    assert conversion.rows_now() == _expected(threads, before)
    kind, default, _not_null = conversion.column()
    assert kind == "character varying(20)"
    assert default == "'red'::character varying"
    assert conversion.indexes() == indexes
    assert conversion.leftovers() == {}
    types = conversion._query("SELECT 1 FROM pg_type WHERE typname = %s", [conversion.type_name])
    assert types == []  # CreateEnumType backwards dropped it once no column used it


def test_convert_to_enum__small_table_threshold__converts_in_place(conversion):
    done = conversion.migrate_to("0902_to_enum", ENUM_ONLINE_MIN_ROWS=1_000_000)

    assert done.returncode == 0, done.stderr
    assert "online" not in done.stdout + done.stderr
    assert conversion.column()[0] == conversion.type_name
    assert conversion.leftovers() == {}


@pytest.mark.parametrize("then", ["auto", "blocking"])
def test_convert_to_enum__killed_mid_backfill__table_usable_next_migrate_finishes(
    conversion, then
):
    before = conversion.rows_now()
    holder = second_session(autocommit=False)
    try:
        process = conversion.spawn_held_mid_backfill(holder)
        assert 0 < conversion.shadow_filled() < ROWS
        process.kill()
        process.communicate(timeout=60)
        holder.rollback()
    finally:
        holder.close()
    wait_for(lambda: not conversion._query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
        [conversion.application]), "the killed migrate's backends to end")

    # Usable with every row, the character column still the real one, the conversion recorded.
    assert conversion.rows_now() == before
    assert conversion.column()[0] == "character varying(20)"
    assert conversion.under_way() == ["backfill"]
    status = run_manage("enum_status", "--json", settings=conversion.settings())
    warnings = [warning for entry in json.loads(status.stdout)["enums"]
                if entry["type"] == conversion.type_name for warning in entry["warnings"]]
    assert any("online conversion" in warning and conversion.table in warning
               and "step: backfill" in warning for warning in warnings), warnings
    with second_session() as session:
        (new_id,) = session.execute(sql.SQL(
            "INSERT INTO {} (colour, serial) VALUES ('green', -1) RETURNING id"
        ).format(sql.Identifier(conversion.table))).fetchone()
    before[new_id] = "green"

    # Resumed online, or (ENUM_SWAP=blocking) its leftovers dropped and converted in place.
    done = conversion.migrate_to("0902_to_enum", ENUM_SWAP=then)
    assert done.returncode == 0, done.stderr
    assert conversion.rows_now() == before
    assert conversion.column()[0] == conversion.type_name
    assert conversion.leftovers() == {}
    assert conversion.under_way() == []


def test_convert_to_enum__stray_value_written_during_conversion__write_kept_switch_refused_then_resumes(  # noqa: E501
    conversion,
):
    holder = second_session(autocommit=False)
    try:
        process = conversion.spawn_held_mid_backfill(holder)
        # A value the enum type lacks, written while the conversion runs: the write succeeds.
        with second_session() as session:
            (stray_id,) = session.execute(sql.SQL(
                "INSERT INTO {} (colour, serial) VALUES ('purple', -2) RETURNING id"
            ).format(sql.Identifier(conversion.table))).fetchone()
        holder.rollback()
        out, err = process.communicate(timeout=300)
    finally:
        holder.close()

    assert process.returncode != 0, out
    assert "'purple' (1 row)" in err
    assert "stopped at its constraints step" in err
    assert conversion.column()[0] == "character varying(20)"
    assert conversion.rows_now()[stray_id] == "purple"
    assert conversion.under_way() == ["constraints"]

    with second_session() as session:
        session.execute(sql.SQL("UPDATE {} SET colour = 'blue' WHERE id = %s").format(
            sql.Identifier(conversion.table)), [stray_id])
    done = conversion.migrate_to("0902_to_enum")
    assert done.returncode == 0, done.stderr
    assert conversion.rows_now()[stray_id] == "blue"
    assert conversion.column()[0] == conversion.type_name
    assert conversion.leftovers() == {}


def test_convert_to_enum__online_forced_in_atomic_migration__refused_before_anything_changes(
    conversion,
):
    migration = conversion.tmp_path / conversion.package / "0902_to_enum.py"
    migration.write_text(migration.read_text().replace("atomic = False", "atomic = True"))

    done = conversion.migrate_to("0902_to_enum", ENUM_SWAP="online")

    assert done.returncode != 0
    assert "ENUM_SWAP=online" in done.stderr and "atomic" in done.stderr
    assert conversion.column()[0] == "character varying(20)"
    assert conversion.leftovers() == {}


# The same conversions as tests/test_conversion.py, forced online in a non-atomic migration:
# everything the in-place conversion carries is carried online too.


@pytest.fixture
def forced_online(settings):
    settings.ENUM_SWAP = "online"
    settings.ENUM_BACKFILL_BATCH = 64


def _catalog_without_positions(names, snapshot) -> dict:
    """The table's catalog, its columns as a set (an online switch moves the column last)."""
    from tests.test_conversion import _table_catalog

    catalog = _table_catalog(names, snapshot)
    catalog["columns"] = sorted(map(repr, catalog["columns"]))
    return catalog


@pytest.mark.parametrize("character", ["varchar", "text"])
def test_convert_to_enum_and_back__forced_online__meta_indexes_checks_default_carried(
    scratch_types, forced_online, character
):
    from tests.helpers import apply_operations, catalog_snapshot, run_sql, unapply_operations
    from tests.test_conversion import (
        _char_field,
        _column,
        _create_table,
        _Names,
        _rows,
        _text_field,
        _to_enum,
    )

    names = _Names(scratch_types)
    state = _create_table(names, character=_char_field() if character == "varchar"
                          else _text_field())
    before = _catalog_without_positions(names, catalog_snapshot())
    rows_before = _rows(names)
    operations = _to_enum(names)

    apply_operations("enumapp", state.clone(), operations, atomic=False)

    assert _rows(names) == rows_before
    assert _column(names) == (names.type, False, f"'red'::{names.type}")
    indexes = dict(run_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", params=[names.table]))
    assert not [name for name in indexes if name.endswith("_like")]
    assert f"WHERE (colour = 'blue'::{names.type})" in indexes[names.partial]
    assert "UNIQUE INDEX" in indexes[names.unique]
    (check,) = run_sql("SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                       "WHERE conname = %s", params=[names.check])
    assert f"'green'::{names.type}" in check[0] and check[1]
    assert not run_sql("SELECT 1 FROM pg_class WHERE relname LIKE 'betintel\\_%%'")

    unapply_operations("enumapp", state, operations, atomic=False)

    assert _catalog_without_positions(names, catalog_snapshot()) == before
    assert _rows(names) == rows_before


def test_array_of_char__forced_online__to_array_of_enum_and_back(scratch_types, forced_online):
    from django.contrib.postgres.fields import ArrayField
    from django.db import models
    from django.db.migrations.operations import CreateModel
    from django.db.migrations.state import ProjectState

    from betintel.enums import EnumField
    from betintel.enums.conversion import ConvertToEnumField
    from betintel.enums.operations import CreateEnumType
    from tests.helpers import apply_operations, run_sql, unapply_operations
    from tests.test_conversion import _array_model, _Names

    names = _Names(scratch_types)
    model = _array_model(names, models.CharField(max_length=10, choices=[("red", "Red")]))
    state = apply_operations("enumapp", ProjectState(), [
        CreateModel(model.name, list(model.fields.items()), options=model.options)])
    run_sql("INSERT INTO {} (colours) SELECT CASE n % 4 WHEN 0 THEN NULL WHEN 1 THEN '{{}}' "
            "WHEN 2 THEN ARRAY['red', 'blue'] ELSE ARRAY['green', NULL] END "
            "FROM generate_series(1, 300) n", names.table)
    rows = run_sql("SELECT id, colours::text FROM {} ORDER BY id", names.table)
    operations = [
        CreateEnumType(names.type, LABELS),
        ConvertToEnumField("palette", "colours",
                           ArrayField(EnumField(type_name=names.type, values=LABELS), null=True)),
    ]
    apply_operations("enumapp", state.clone(), operations, atomic=False)
    (column_type,) = run_sql(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'colours'", params=[names.table])
    assert column_type == (f"{names.type}[]",)
    assert run_sql("SELECT id, colours::text FROM {} ORDER BY id", names.table) == rows
    unapply_operations("enumapp", state, operations, atomic=False)
    assert run_sql("SELECT id, colours::text FROM {} ORDER BY id", names.table) == rows
    assert not run_sql("SELECT 1 FROM pg_attribute WHERE attname LIKE 'betintel\\_%%' "
                       "AND NOT attisdropped")


def test_sqlmigrate__big_table__online_conversion_statements_shown_nothing_run(conversion):
    done = run_manage("sqlmigrate", "enumapp", "0902_to_enum", settings=conversion.settings(),
                      pythonpath=[conversion.tmp_path])

    assert done.returncode == 0, done.stderr
    shown = done.stdout
    for expected in ("-- Online conversion:", "CREATE TRIGGER", "-- step: backfill",
                     "CREATE INDEX CONCURRENTLY", "VALIDATE CONSTRAINT", "-- step: switch",
                     "LOCK TABLE", "RENAME COLUMN"):
        assert expected in shown, expected
    assert "ALTER COLUMN \"colour\" TYPE" not in shown
    assert conversion.column()[0] == "character varying(20)"
    assert conversion.leftovers() == {}
