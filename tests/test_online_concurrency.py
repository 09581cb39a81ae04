"""Writers keep working while a real ``migrate`` removes an enum value online (SPEC §4a).

A scratch table of a few tens of thousands of rows has an enum type of its own; a temporary
migration package for ``enumapp`` removes a deprecated value from that type in a non-atomic
migration, applied by a real ``manage.py migrate`` process with ``ENUM_SWAP=online`` and a small
``ENUM_BACKFILL_BATCH``, so the backfill spans many batches. Writer threads, each with its own
psycopg connection, insert, update and read rows by raw SQL the whole time; every statement's
outcome is kept, and every row a writer touched is checked afterwards against what it wrote.

``OnlineRemoval`` (the scratch table, the package, the catalog probes) is shared with
``test_online_crash.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db.migrations.state import ProjectState
from psycopg import sql

from betintel.enums.operations import DeprecateEnumValue
from tests.helpers import apply_operations, enum_labels, unique_name
from tests.online_helpers import (
    PATIENCE,
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

VALUES = ["h2h", "spreads", "totals", "corners"]
REMOVED, REPLACEMENT = "corners", "totals"
#: The steps of an online swap, as ``enum_status`` names them.
STEPS = ("shadow", "backfill", "indexes", "constraints", "switch")

REMOVAL_MIGRATION = """\
from django.db import migrations

import betintel.enums.operations as enum_ops


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("enumapp", {previous!r})]
    operations = [
        enum_ops.RemoveEnumValue(name={type_name!r}, value={value!r}, replacement={replacement!r}),
    ]
"""


def mapped(value: str | None) -> str | None:
    """What a value written before the removal reads as afterwards."""
    return REPLACEMENT if value == REMOVED else value


def mapped_tags(tags: list[str] | None) -> list[str] | None:
    return None if tags is None else [mapped(tag) for tag in tags]


def initial_row(row_id: int) -> tuple[str, list[str]]:
    """The value and tags of initial row ``row_id`` (the fill below computes the same)."""
    return VALUES[row_id % 4], [VALUES[(row_id + 1) % 4], VALUES[(row_id + 3) % 4]]


class OnlineRemoval(MigrationCopy):
    """A scratch table and type, and a migration package whose last migration removes
    ``REMOVED`` (replacement ``REPLACEMENT``) online; everything is dropped by ``cleanup``.

    ``full`` gives the table everything the online swap must carry: a NOT NULL column, an
    array column, a plain, a partial, a unique and an array index, and a CHECK naming the type.
    Without it the table has one nullable column and one index: no step after the indexes needs
    the table's ACCESS EXCLUSIVE lock except the switch.
    """

    def __init__(self, tmp_path: Path, settings, rows: int, full: bool = True) -> None:
        self.rows = rows
        self.full = full
        self.type_name = unique_name("online_kind")
        self.table = unique_name("online_bets")
        super().__init__(tmp_path, settings, "online_migrations", "online")
        self.migration = "0901_remove_online"
        (self.folder / f"{self.migration}.py").write_text(textwrap.dedent(
            REMOVAL_MIGRATION.format(previous=self.real_leaf, type_name=self.type_name,
                                     value=REMOVED, replacement=REPLACEMENT)))
        self._create()
        self.index_names = sorted(name for name, _valid in self.indexes())

    # -- the scratch objects ---------------------------------------------------------------

    def _create(self) -> None:
        kind, table = sql.Identifier(self.type_name), sql.Identifier(self.table)
        statements = [
            sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
                kind, sql.SQL(", ").join(map(sql.Literal, VALUES))),
        ]
        # Only the full table's kind is NOT NULL.
        statements += [
            sql.SQL("CREATE TABLE {t} (id bigserial PRIMARY KEY, kind {k}{not_null}, "
                    "tags {k}[], note text NOT NULL DEFAULT '')").format(
                t=table, k=kind, not_null=sql.SQL(" NOT NULL" if self.full else "")),
            sql.SQL(
                "INSERT INTO {t} (kind, tags, note) SELECT "
                "(ARRAY[{v}]::{k}[])[1 + n % 4], "
                "ARRAY[(ARRAY[{v}]::{k}[])[1 + (n + 1) % 4], "
                "(ARRAY[{v}]::{k}[])[1 + (n + 3) % 4]], 'row ' || n "
                "FROM generate_series(1, {rows}) AS n"
            ).format(t=table, k=kind, v=sql.SQL(", ").join(map(sql.Literal, VALUES)),
                     rows=sql.Literal(self.rows)),
            self._index("kind", "({})", "kind"),
        ]
        if self.full:
            statements += [
                self._index("spreads", "(id) WHERE kind = 'spreads'"),
                self._index("unique", "(id, kind)", unique=True),
                self._index("tags", "USING gin (tags)"),
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (kind <> 'spreads' OR note <> '')"
                        ).format(table, sql.Identifier(f"{self.table}_spreads_noted")),
            ]
        statements.append(sql.SQL("ANALYZE {}").format(table))
        with second_session() as session:
            for statement in statements:
                session.execute(statement)
        apply_operations("enumapp", ProjectState(),
                         [DeprecateEnumValue(self.type_name, REMOVED, REPLACEMENT)])

    def _index(self, suffix: str, body: str, *columns: str, unique: bool = False):
        return sql.SQL("CREATE {unique}INDEX {name} ON {table} " + body).format(
            *(sql.Identifier(column) for column in columns),
            unique=sql.SQL("UNIQUE " if unique else ""),
            name=sql.Identifier(f"{self.table}_{suffix}"), table=sql.Identifier(self.table),
        )

    def cleanup(self) -> None:
        """Stop our processes and their backends, unrecord the migration, drop the objects."""
        self.stop_processes()
        wait_for(lambda: not self.backends(), "the migrate backends to end")
        call_command("migrate", "enumapp", self.real_leaf, fake=True, verbosity=0)
        with second_session() as session:
            session.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.Identifier(self.table)))
            session.execute(sql.SQL("DROP TYPE IF EXISTS {} CASCADE").format(
                sql.Identifier(self.type_name)))
            # What an interrupted swap of this test's type may have left in the schema.
            for (name,) in session.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "WHERE proname LIKE 'betintel\\_%' "
                "AND pronamespace = current_schema()::regnamespace"
            ).fetchall():
                session.execute(sql.SQL("DROP FUNCTION IF EXISTS {} CASCADE").format(
                    sql.SQL(name)))
            for (name,) in session.execute(
                "SELECT typname FROM pg_type WHERE typname LIKE 'betintel\\_%' AND typtype = 'e' "
                "AND typnamespace = current_schema()::regnamespace"
            ).fetchall():
                session.execute(sql.SQL("DROP TYPE IF EXISTS {} CASCADE").format(
                    sql.Identifier(name)))

    # -- processes ---------------------------------------------------------------------------

    def settings(self, **overrides) -> dict:
        """The settings of a ``manage.py`` process applying the removal online."""
        return {
            "MIGRATION_MODULES": {"enumapp": self.package},
            "ENUM_SWAP": "online",
            "ENUM_ONLINE_MIN_ROWS": 0,
            "ENUM_BACKFILL_BATCH": 200,
            **overrides,
        }

    def spawn_migrate(self, **overrides) -> subprocess.Popen:
        """Start ``manage.py migrate enumapp <removal>`` in a process of its own."""
        return self.spawn_migrate_to(self.migration, **overrides)

    def wait_during(self, process: subprocess.Popen, predicate: Callable[[], object],
                    what: str):
        """``wait_for``, failing at once (with its output) if ``process`` ends first."""

        def check():
            result = predicate()
            if not result and process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(
                    f"migrate ended (exit {process.returncode}) before {what}:\n{out}\n{err}")
            return result

        return wait_for(check, what)

    def migrate(self, **overrides) -> subprocess.CompletedProcess:
        """Run the removal's ``migrate`` to its end."""
        process = self.spawn_migrate(**overrides)
        out, err = process.communicate(timeout=300)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def backends(self) -> list[int]:
        """The backends of the ``manage.py`` processes this test started."""
        with second_session() as session:
            return [pid for (pid,) in session.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                [self.application],
            ).fetchall()]

    def terminate_backends(self) -> list[int]:
        """``pg_terminate_backend`` every backend of our ``manage.py`` processes."""
        pids = self.backends()
        with second_session() as session:
            for pid in pids:
                session.execute("SELECT pg_terminate_backend(%s)", [pid])
        return pids

    def enum_status(self) -> dict:
        done = run_manage("enum_status", "--json", settings=self.settings(),
                          pythonpath=[self.tmp_path])
        assert done.stdout.strip(), done.stderr
        return json.loads(done.stdout)

    # -- the catalog -------------------------------------------------------------------------

    def _query(self, query, params=()) -> list[tuple]:
        with second_session() as session:
            return session.execute(query, params).fetchall()

    def shadow_columns(self) -> dict[str, str]:
        """The swap's shadow columns, by the column each one shadows (``kind``, ``tags``)."""
        names = [name for (name,) in self._query(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attname LIKE 'betintel\\_%%'", [self.table])]
        found = {}
        for column in ("tags", "kind"):
            matching = [name for name in names if column in name and name not in found.values()]
            if matching:
                found[column] = matching[0]
        return found

    def trigger_names(self) -> list[str]:
        return [name for (name,) in self._query(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
            "AND tgname LIKE 'betintel\\_%%'", [self.table])]

    def shadow_ready(self) -> bool:
        """The shadow columns of both enum columns and their trigger are committed."""
        return len(self.shadow_columns()) == 2 and bool(self.trigger_names())

    def filled(self) -> int:
        """Rows whose shadow of ``kind`` holds a value (the backfill's progress)."""
        shadow = self.shadow_columns().get("kind")
        if shadow is None:
            return 0
        return self._query(sql.SQL("SELECT count({}) FROM {}").format(
            sql.Identifier(shadow), sql.Identifier(self.table)))[0][0]

    def largest_transaction(self) -> int:
        """The most rows written last by one transaction: a backfill batch's rows share its
        xmin (the switch rewrites no row)."""
        return self._query(sql.SQL(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM {} GROUP BY xmin::text) AS t"
        ).format(sql.Identifier(self.table)))[0][0]

    def count(self) -> int:
        return self._query(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(self.table)))[0][0]

    def indexes(self) -> list[tuple[str, bool]]:
        """Each index on the table: its name, and whether it is valid."""
        return self._query(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = "
            "i.indexrelid WHERE i.indrelid = %s::regclass ORDER BY 1", [self.table])

    def waiting(self, wait_event_type: str = "Lock") -> list[int]:
        """Our ``manage.py`` backends now waiting, e.g. for a lock."""
        return [pid for (pid,) in self._query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = %s", [self.application, wait_event_type])]

    def waiting_for_table(self, mode: str = "AccessExclusiveLock") -> list[int]:
        """Our backends waiting for ``mode`` on the scratch table."""
        return [pid for (pid,) in self._query(
            "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE a.application_name = %s AND l.locktype = 'relation' AND NOT l.granted "
            "AND l.relation = %s::regclass AND l.mode = %s",
            [self.application, self.table, mode])]

    def waits_on_each_other(self, pid: int) -> bool:
        """Whether backend ``pid`` waits for one of our ``manage.py`` backends while one of
        them waits for ``pid``'s transaction to end (a cycle through two of our sessions)."""
        return bool(self._query(
            "SELECT EXISTS (SELECT FROM pg_stat_activity a WHERE a.application_name = %s "
            "AND a.pid = ANY(pg_blocking_pids(%s))) AND EXISTS (SELECT FROM pg_stat_activity a "
            "WHERE a.application_name = %s AND %s = ANY(pg_blocking_pids(a.pid)))",
            [self.application, pid, self.application, pid])[0][0])

    def leftovers(self) -> dict[str, list[str]]:
        """Everything named ``betintel_%`` in the database, by kind; empty after a swap."""
        return leftovers()

    def rows_now(self) -> dict[int, tuple[str | None, list[str] | None]]:
        return {row_id: (kind, tags) for row_id, kind, tags in self._query(
            sql.SQL("SELECT id, kind::text, tags::text[] FROM {}").format(
                sql.Identifier(self.table)))}

    def labels(self) -> list[str]:
        return enum_labels(self.type_name)

    def assert_finished(self, expected: dict[int, tuple[str, list[str] | None]]) -> None:
        """The value is gone, every row holds what ``expected`` says (mapped), indexes are
        valid under their old names, and nothing of the swap is left."""
        assert REMOVED not in self.labels()
        now = self.rows_now()
        assert len(now) == len(expected)
        wrong = {
            row_id: (now.get(row_id), (mapped(kind), mapped_tags(tags)))
            for row_id, (kind, tags) in expected.items()
            if now.get(row_id) != (mapped(kind), mapped_tags(tags))
        }
        assert wrong == {}, f"{len(wrong)} rows differ, e.g. {list(wrong.items())[:5]}"
        assert self.indexes() == [(name, True) for name in self.index_names]
        assert self.leftovers() == {}
        assert self.swap_warnings(self.enum_status()) == []

    def swap_warnings(self, status: dict) -> list[str]:
        """Warnings of ``enum_status --json`` that name our type and a step of a swap."""
        steps = re.compile(r"\b(" + "|".join(STEPS) + r")\b")
        return [
            warning
            for entry in status["enums"]
            for warning in entry["warnings"]
            if self.type_name in warning and steps.search(warning)
        ]


@pytest.fixture
def removal(tmp_path, settings):
    made: list[OnlineRemoval] = []

    def make(rows: int, full: bool = True) -> OnlineRemoval:
        made.append(OnlineRemoval(tmp_path, settings, rows, full))
        return made[-1]

    yield make
    for scratch in made:
        scratch.cleanup()


# -- writers -----------------------------------------------------------------------------------


class Writer(WriterThread):
    """One application session: inserts, updates (its own share of the rows) and reads, by raw
    SQL, until told to stop; it keeps every failure and what it last wrote to each row."""

    def __init__(self, number: int, writers: int, scratch: OnlineRemoval,
                 stop: threading.Event, extra: dict) -> None:
        # The last initial row is left to the tests.
        super().__init__(number, writers, scratch.rows - 1, stop)
        self.scratch, self.extra = scratch, extra
        #: row id -> (kind, tags) as written by this writer (before any mapping).
        self.wrote: dict[int, tuple[str, list[str] | None]] = {}
        #: Writes of the removed value refused after the removal committed (expected).
        self.refused_after_removal = 0
        self.removal_seen = False
        self.removed_written = 0
        self.extra_written = 0

    def values(self) -> list[str]:
        pool = [value for value in VALUES if not (self.removal_seen and value == REMOVED)]
        if "value" in self.extra:  # added by ALTER TYPE ... ADD VALUE during the swap
            pool.append(self.extra["value"])
        return pool

    def loop(self) -> None:
        table = sql.Identifier(self.scratch.table)
        kind_type = sql.Identifier(self.scratch.type_name)
        insert = sql.SQL("INSERT INTO {} (kind, tags, note) VALUES (%s, %s::text[]::{}[], %s) "
                         "RETURNING id").format(table, kind_type)
        update_kind = sql.SQL("UPDATE {} SET kind = %s, tags = %s::text[]::{}[] "
                              "WHERE id = %s").format(table, kind_type)
        update_note = sql.SQL("UPDATE {} SET note = %s WHERE id = %s").format(table)
        select = sql.SQL("SELECT kind::text, tags::text[] FROM {} WHERE id = %s").format(table)
        with writer_session() as session:
            while not self.stop.is_set():
                pick = self.rng.random()
                kind = self.rng.choice(self.values())
                tags = [self.rng.choice(self.values()) for _ in range(self.rng.randint(0, 3))]
                tags = None if self.rng.random() < 0.1 else tags
                try:
                    if pick < 0.35:
                        (row_id,) = session.execute(
                            insert, [kind, tags, f"written by {self.name}"]).fetchone()
                        self._wrote(row_id, kind, tags)
                    elif pick < 0.7:
                        row_id = self.own_row()
                        session.execute(update_kind, [kind, tags, row_id])
                        self._wrote(row_id, kind, tags)
                    elif pick < 0.8:
                        session.execute(update_note, [f"noted by {self.name}", self.own_row()])
                    else:
                        row_id = self.own_row()
                        read = session.execute(select, [row_id]).fetchone()
                        self._check_read(row_id, read)
                except psycopg.errors.InvalidTextRepresentation as exc:
                    self._refused(exc, kind, tags)
                except psycopg.Error as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.statements += 1

    def _wrote(self, row_id: int, kind: str, tags: list[str] | None) -> None:
        self.wrote[row_id] = (kind, tags)
        if kind == REMOVED or REMOVED in (tags or []):
            self.removed_written += 1
        if "value" in self.extra and self.extra["value"] in [kind, *(tags or [])]:
            self.extra_written += 1

    def _check_read(self, row_id: int, read) -> None:
        """A row reads as what this writer last wrote to it, as written or mapped."""
        kind, tags = self.wrote.get(row_id) or initial_row(row_id)
        allowed = {(kind, _frozen(tags)), (mapped(kind), _frozen(mapped_tags(tags)))}
        if read is None or (read[0], _frozen(read[1])) not in allowed:
            self.failures.append(
                f"Row {row_id} read as {read}, but {self.name} last wrote {(kind, tags)}.")

    def _refused(self, exc: psycopg.Error, kind: str, tags: list[str] | None) -> None:
        """Writing the removed value is refused once the removal has committed, with the type's
        own name in the message; any other refusal is a failure."""
        expected = f'invalid input value for enum {self.scratch.type_name}: "{REMOVED}"'
        if REMOVED in [kind, *(tags or [])] and str(exc).startswith(expected):
            self.refused_after_removal += 1
            self.removal_seen = True
            return
        self.failures.append(f"{type(exc).__name__}: {exc}")


def _go_on(writers: list[Writer]) -> int:
    """Wait until each writer has run a few more rounds than now; the statements run by
    then."""
    so_far = sum(writer.statements for writer in writers)
    wait_for(lambda: all(writer.statements >= so_far // 3 + 20 for writer in writers),
             "the writers to go on after the swap")
    return so_far


def _frozen(tags: list[str] | None) -> tuple[str, ...] | None:
    return None if tags is None else tuple(tags)


def _expected_rows(scratch: OnlineRemoval, writers: list[Writer]) -> dict:
    expected = {row_id: initial_row(row_id) for row_id in range(1, scratch.rows + 1)}
    for writer in writers:
        expected.update(writer.wrote)
    return expected


def test_online_removal__writers_insert_update_and_read_throughout__none_fails_rows_exact(
    removal,
):
    scratch = removal(rows=30_000)
    stop, extra = threading.Event(), {}
    writers = [Writer(number, 3, scratch, stop, extra) for number in range(3)]
    start_writers(writers, statements=20)
    process = scratch.spawn_migrate()
    try:
        seen = wait_for(
            lambda: "shadow filling" if scratch.filled() > 0
            else ("migrate ended" if process.poll() is not None else None),
            "the shadow column to fill")
        during_swap = sum(writer.statements for writer in writers)
        out, err = process.communicate(timeout=300)
        # A few more rounds after the switch, with the value gone.
        after_swap = _go_on(writers)
    finally:
        stop_writers(writers, stop)

    assert process.returncode == 0, err
    assert seen == "shadow filling", out
    assert [failure for writer in writers for failure in writer.failures] == []
    assert after_swap > during_swap  # writers were working while the swap ran
    assert sum(writer.removed_written for writer in writers) > 0
    inserted = sum(1 for writer in writers for row_id in writer.wrote if row_id > scratch.rows)
    assert len(scratch.rows_now()) == scratch.rows + inserted
    assert scratch.labels() == [value for value in VALUES if value != REMOVED]
    assert scratch.largest_transaction() <= scratch.settings()["ENUM_BACKFILL_BATCH"]
    scratch.assert_finished(_expected_rows(scratch, writers))


def test_online_removal__value_added_concurrently__kept_and_writable_writers_unharmed(removal):
    scratch = removal(rows=30_000)
    stop, extra = threading.Event(), {}
    writers = [Writer(number, 3, scratch, stop, extra) for number in range(3)]
    start_writers(writers, statements=20)
    # The last initial row, which no writer touches, is locked once the shadow columns exist:
    # the backfill stops short of it, so the value is added while the swap is under way.
    holder = second_session(autocommit=False)
    adder = second_session()
    added: dict = {}

    def add_value() -> None:
        try:
            adder.execute("SET statement_timeout = '120s'")
            added["pid"] = adder.info.backend_pid
            adder.execute(sql.SQL("ALTER TYPE {} ADD VALUE 'exotic'").format(
                sql.Identifier(scratch.type_name)))
            added["done"] = True
        except psycopg.Error as exc:
            added["error"] = f"{type(exc).__name__}: {exc}"

    process = scratch.spawn_migrate()
    adding = threading.Thread(target=add_value, daemon=True)
    try:
        scratch.wait_during(process, scratch.shadow_ready, "the shadow columns and their trigger")
        holder.execute(sql.SQL("SELECT id FROM {} WHERE id = %s FOR UPDATE").format(
            sql.Identifier(scratch.table)), [scratch.rows])
        scratch.wait_during(process, lambda: scratch.filled() > 0 and scratch.waiting(),
                            "the backfill to wait for the locked row")
        assert scratch.filled() < scratch.count()
        adding.start()
        wait_for(lambda: "done" in added or "error" in added or _waits(adder, added),
                 "ALTER TYPE ... ADD VALUE to finish or wait")
        if "done" in added:
            # Added while the swap is under way: writers use it at once.
            extra["value"] = "exotic"
            wait_for(lambda: sum(writer.extra_written for writer in writers) >= 10,
                     "writers to write the added value")
        holder.rollback()
        # Each may wait for the other, never both: that would be a deadlock no server sees.
        ending = wait_for(
            lambda: "migrate ended" if process.poll() is not None
            else ("deadlock" if scratch.waits_on_each_other(added["pid"]) else None),
            "migrate to end")
        if ending == "deadlock":
            adder.cancel_safe()  # lets the swap go on, so the test can end
        out, err = process.communicate(timeout=300)
        adding.join(timeout=PATIENCE)
        extra["value"] = "exotic"
        _go_on(writers)
    finally:
        stop_writers(writers, stop)
        holder.close()
        adder.close()

    assert ending == "migrate ended", (
        "ALTER TYPE ... ADD VALUE waited for the session holding the type during the swap, "
        "while the swap's CREATE INDEX CONCURRENTLY waited for ADD VALUE's snapshot to end")
    assert process.returncode == 0, err
    assert added.get("done") is True, added
    assert [failure for writer in writers for failure in writer.failures] == []
    assert scratch.labels() == ["h2h", "spreads", "totals", "exotic"]
    assert sum(writer.extra_written for writer in writers) > 0
    scratch.assert_finished(_expected_rows(scratch, writers))


def _waits(session: psycopg.Connection, added: dict) -> bool:
    """Whether the session running ADD VALUE now waits for a lock."""
    if "pid" not in added:
        return False
    with second_session() as other:
        row = other.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                            [added["pid"]]).fetchone()
    return bool(row and row[0] == "Lock")
