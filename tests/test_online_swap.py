"""The online type swap (SPEC §4a): the same dependents as the blocking swap, carried beside live
traffic, and what it falls back from, refuses, shows and leaves behind.

Tables here are created by hand, as an operator's or another tool's would be; the swaps run in
non-atomic migrations with ``ENUM_SWAP=online`` unless a test says otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import logging

import psycopg
import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from betintel.enums import report
from betintel.enums.errors import LockNotAcquired, RefusedChange, SwapInterrupted
from betintel.enums.online import switch
from betintel.enums.online.backfill import next_batch_size
from betintel.enums.online.guard import Guard
from betintel.enums.online.plan import plan_swap
from betintel.enums.online.state import under_way
from betintel.enums.online.steps import OnlineSwap
from betintel.enums.operations import (
    AddEnumValue,
    RemoveEnumValue,
)
from tests.helpers import (
    apply_operations,
    catalog_snapshot,
    enum_labels,
    relfilenode,
    run_command,
    run_sql,
    unapply_operations,
)
from tests.swap_fixtures import (
    assert_outside_table_enforcing,
    assert_quoted_type_kept,
    column_defaults,
    count,
    create_type,
    index_definitions,
    outside_table,
    quoted_type_of_another_owner,
    remove,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def online_settings(settings):
    settings.ENUM_SWAP = "online"
    settings.ENUM_ONLINE_MIN_ROWS = 1
    settings.ENUM_BACKFILL_BATCH = 2


# Online swaps run in non-atomic migrations, as makemigrations writes removals.
_remove = functools.partial(remove, atomic=False)


def _kind_table(scratch_types, name: str, rows: str) -> tuple[str, str]:
    """A type deprecating ``c`` for ``a`` and a table ``(id int PRIMARY KEY, kind)`` of it
    filled by ``rows`` (the rest of an ``INSERT INTO table``): ``(kind, table)``."""
    kind, table = scratch_types("kind"), scratch_types(name)
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {})", table, kind)
    run_sql("INSERT INTO {} " + rows, table)
    return kind, table


def _leftovers() -> list[tuple]:
    """Every object named with the online swap's prefix, anywhere in the database."""
    return run_sql(
        "SELECT 'type', typname::text FROM pg_type WHERE left(typname, 9) = 'betintel_' "
        "UNION ALL SELECT 'relation', relname::text FROM pg_class "
        "WHERE left(relname, 9) = 'betintel_' "
        "UNION ALL SELECT 'column', attname::text FROM pg_attribute "
        "WHERE left(attname, 9) = 'betintel_' AND NOT attisdropped "
        "UNION ALL SELECT 'trigger', tgname::text FROM pg_trigger "
        "WHERE left(tgname, 9) = 'betintel_' "
        "UNION ALL SELECT 'function', proname::text FROM pg_proc "
        "WHERE left(proname, 9) = 'betintel_' "
        "UNION ALL SELECT 'constraint', conname::text FROM pg_constraint "
        "WHERE left(conname, 9) = 'betintel_'"
    )


def _definitions(table: str) -> dict:
    return {
        "indexes": index_definitions(table),
        "constraints": run_sql(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype <> 'n' ORDER BY 1",
            params=[table],
        ),
        "defaults": column_defaults(table),
        "not_null": run_sql(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND attnotnull AND NOT attisdropped ORDER BY 1",
            params=[table],
        ),
        "comments": run_sql(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "AND obj_description(c.oid, 'pg_class') IS NOT NULL ORDER BY 1",
            params=[table],
        ),
    }


def test_online__every_dependent_converted_kept_under_old_names_and_enforcing(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("outside")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    outside_table(kind, table)
    definitions = _definitions(table)
    before = relfilenode(table)

    queries = _remove(kind, "c", "b")

    assert any("CREATE INDEX CONCURRENTLY" in query for query in queries)
    assert not any(f'"{table}" ALTER COLUMN "kind" TYPE' in query for query in queries)
    assert relfilenode(table) == before  # never rewritten under a lock
    assert enum_labels(kind) == ["a", "b"]
    rows = run_sql("SELECT kind::text, tags::text FROM {} ORDER BY id", table)
    assert rows == [("a", "{b}"), ("b", "{b,b,b}"), ("b", "{}"), ("b", "{a,b}")]
    after = _definitions(table)
    assert after["indexes"] == definitions["indexes"]
    assert after["constraints"] == definitions["constraints"]
    assert after["not_null"] == definitions["not_null"] == [("id",), ("kind",), ("tags",)]
    assert after["defaults"] == [("kind", f"'b'::{kind}"), ("tags", f"'{{a,b}}'::{kind}[]")]
    assert after["comments"] == [(f"{table}_one_a", "at most one a")]
    with pytest.raises(IntegrityError, match="kind"), transaction.atomic():
        run_sql("INSERT INTO {} (kind, tags) VALUES (NULL, '{{}}')", table)
    assert_outside_table_enforcing(table)
    assert _leftovers() == []


def test_online__two_enum_columns_and_two_tables__rows_mapped_in_each(scratch_types):
    kind, pair, other = scratch_types("kind"), scratch_types("pair"), scratch_types("other")
    create_type(kind, ["a", "b", "c"], {"b": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, home {}, away {}, note text)", pair, kind, kind)
    run_sql("CREATE TABLE {} (id bigint PRIMARY KEY, kind {})", other, kind)
    run_sql("INSERT INTO {} VALUES (1, 'b', 'c', 'x'), (2, 'c', 'b', 'y'), (3, NULL, 'b', 'z')",
            pair)
    run_sql("INSERT INTO {} SELECT n, (ARRAY['a','b','c'])[n % 3 + 1]::{} "
            "FROM generate_series(1, 9) n", other, kind)
    _remove(kind, "b", "a")
    assert run_sql("SELECT home::text, away::text, note FROM {} ORDER BY id", pair) == [
        ("a", "c", "x"), ("c", "a", "y"), (None, "a", "z"),
    ]
    assert count(other, "kind") == {"a": 6, "c": 3}
    assert run_sql("SELECT count(*) FROM {}", other) == [(9,)]
    assert _leftovers() == []


def test_online__table_in_another_schema__converted(scratch_types):
    kind, schema = scratch_types("kind"), scratch_types("elsewhere")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE SCHEMA {}", schema)
    try:
        run_sql("CREATE TABLE {}.t (id int PRIMARY KEY, kind {} DEFAULT 'c')", schema, kind)
        run_sql("CREATE INDEX partial_a ON {}.t (id) WHERE kind = 'a'", schema)
        run_sql("INSERT INTO {}.t VALUES (1, 'c'), (2, 'b'), (3, 'a')", schema)
        _remove(kind, "c", "a")
        assert run_sql("SELECT id, kind::text FROM {}.t ORDER BY id", schema) == [
            (1, "a"), (2, "b"), (3, "a"),
        ]
        assert run_sql("SELECT indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
                       params=[schema]) == [("partial_a",), ("t_pkey",)]
        assert _leftovers() == []
    finally:
        run_sql("DROP SCHEMA {} CASCADE", schema)


def test_online__unique_constraint_on_an_enum_column__kept_as_a_constraint(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("uniq")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {}, n int, CONSTRAINT one_each "
            "UNIQUE (kind, n))", table, kind)
    run_sql("INSERT INTO {} VALUES (1, 'a', 1), (2, 'c', 1), (3, 'b', 2)", table)
    constraints = _definitions(table)["constraints"]
    _remove(kind, "c", "b")
    assert _definitions(table)["constraints"] == constraints
    with pytest.raises(IntegrityError, match="one_each"), transaction.atomic():
        run_sql("INSERT INTO {} (id, kind, n) VALUES (4, 'b', 1)", table)
    assert _leftovers() == []


def test_online__value_written_by_raw_sql_during_the_swap__mapped(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("live")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {} NOT NULL, tags {}[])",
            table, kind, kind)
    run_sql("INSERT INTO {} SELECT n, 'a', '{{a}}' FROM generate_series(1, 6) n", table)
    with _held_swap(kind, "c", "b") as swap:
        swap.run(until="shadow")
        # A writer in another session, between the steps: the removed value, by raw SQL.
        with psycopg.connect(**_dsn(), autocommit=True) as writer:
            name = sql.Identifier(table)
            writer.execute(sql.SQL("INSERT INTO {} VALUES (7, %s, %s)").format(name),
                           ["c", ["c", "a"]])
            swap.backfill()
            writer.execute(sql.SQL("UPDATE {} SET kind = %s WHERE id = 1").format(name),
                           ["c"])
            swap.indexes()
            swap.constraints()
            writer.execute(sql.SQL("INSERT INTO {} VALUES (8, %s, NULL)").format(name),
                           ["c"])
        swap.switch()
    assert run_sql("SELECT id, kind::text, tags::text FROM {} ORDER BY id", table) == [
        (1, "b", "{a}"), (2, "a", "{a}"), (3, "a", "{a}"), (4, "a", "{a}"), (5, "a", "{a}"),
        (6, "a", "{a}"), (7, "b", "{b,a}"), (8, "b", None),
    ]
    assert enum_labels(kind) == ["a", "b"]
    assert _leftovers() == []


def _blocking_plan(kind: str, value: str, replacement: str | None):
    from betintel.enums import introspection, swap
    from betintel.enums.introspection import type_dependents

    existing = introspection.enum_type(connection, kind)
    dependents = type_dependents(connection, kind)
    return swap.plan_removal(connection, existing, value, replacement, dependents), dependents


@contextlib.contextmanager
def _held_swap(kind: str, value: str = "c", replacement: str | None = "a"):
    """An online swap of ``kind`` under its guard, for a test to run step by step; the guard is
    released on the way out whatever happened, as if the process had died there."""
    online_plan = plan_swap(connection, *_blocking_plan(kind, value, replacement))
    guard = Guard(connection, kind)
    try:
        guard.hold()
        with connection.schema_editor(atomic=False) as editor:
            yield OnlineSwap(editor, online_plan, guard)
    finally:
        guard.close()


def _stop_after(kind: str, step: str) -> None:
    """Run an online swap of ``kind`` (``c`` to ``a``) up to ``step``, then leave it there."""
    with _held_swap(kind) as swap:
        swap.run(until=step)


def _dsn() -> dict:
    params = connection.get_connection_params()
    return {key: value for key, value in params.items() if key != "cursor_factory"}


def test_online__left_half_done__status_warns_and_next_migrate_finishes(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("half")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {} NOT NULL)", table, kind)
    run_sql("CREATE INDEX {} ON {} (kind)", f"{table}_kind", table)
    run_sql("INSERT INTO {} SELECT n, 'c' FROM generate_series(1, 5) n", table)
    _stop_after(kind, "backfill")  # as if the process died here
    # The table is still fully usable, with the removed value mapped for new rows too.
    run_sql("INSERT INTO {} VALUES (6, 'c')", table)
    assert run_sql("SELECT count(*) FROM {}", table) == [(6,)]
    entry = next(e for e in report.build_report(counts="none").enums if e.type == kind)
    warning = next(w for w in entry.warnings if "online" in w)
    assert kind in warning and "backfill" in warning
    assert not any(e.type.startswith("betintel_") for e in report.build_report().enums)

    _remove(kind, "c", "a")

    assert count(table, "kind") == {"a": 6}
    assert enum_labels(kind) == ["a", "b"]
    assert run_sql("SELECT indexname FROM pg_indexes WHERE tablename = %s ORDER BY 1",
                   params=[table]) == [(f"{table}_kind",), (f"{table}_pkey",)]
    assert _leftovers() == []


def test_blocking_after_an_unfinished_online_swap__leftovers_dropped_then_swapped(
    scratch_types, settings
):
    kind, table = scratch_types("kind"), scratch_types("abandoned")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {} NOT NULL CHECK (kind <> 'b'))",
            table, kind)
    run_sql("CREATE INDEX {} ON {} (kind) WHERE kind = 'a'", f"{table}_a", table)
    run_sql("INSERT INTO {} SELECT n, 'c' FROM generate_series(1, 5) n", table)
    _stop_after(kind, "constraints")
    assert _leftovers() != []
    settings.ENUM_SWAP = "blocking"
    queries = _remove(kind, "c", "a", atomic=True)
    assert any('ALTER COLUMN "kind" TYPE' in query for query in queries)
    assert count(table, "kind") == {"a": 5}
    assert _leftovers() == []


def test_online__invalid_index_left_by_a_failed_build__dropped_and_built_again(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("invalid")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {})", table, kind)
    run_sql("CREATE UNIQUE INDEX {} ON {} (kind) WHERE id < 3", f"{table}_u", table)
    run_sql("INSERT INTO {} VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'c')", table)
    with _held_swap(kind) as swap:
        online_plan = swap.plan
        index = online_plan.tables[0].indexes[0]
        swap.run(until="backfill")
        # A unique build that fails leaves an invalid index behind, as an interrupted one.
        run_sql("UPDATE {} SET id = 0 WHERE id = 3", table)
        with pytest.raises(IntegrityError):
            run_sql("CREATE UNIQUE INDEX CONCURRENTLY {} ON {} ({})", index.copy, table,
                    online_plan.tables[0].columns[0].shadow)
        assert run_sql("SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass",
                       params=[index.copy]) == [(False,)]
        run_sql("UPDATE {} SET id = 3 WHERE id = 0", table)
    _remove(kind, "c", "a")
    assert run_sql("SELECT indisvalid, pg_get_indexdef(indexrelid) FROM pg_index "
                   "WHERE indexrelid = %s::regclass", params=[f"{table}_u"]) == [
        (True, f"CREATE UNIQUE INDEX {table}_u ON public.{table} USING btree (kind) "
               "WHERE (id < 3)")
    ]
    assert _leftovers() == []


def test_online__atomic_migration__refused_before_anything_changes(scratch_types):
    kind, table = _kind_table(scratch_types, "atomic", "VALUES (1, 'c'), (2, 'b'), (3, 'a')")
    before = catalog_snapshot()
    with pytest.raises(RefusedChange, match="atomic = False"):
        _remove(kind, "c", "a", atomic=True)
    assert catalog_snapshot() == before


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("CREATE TABLE {} (id int, kind {})", "no primary key"),
        ("CREATE TABLE {} (id int, kind {}) PARTITION BY RANGE (id)", "is partitioned"),
        ("CREATE TABLE {} (id int, kind {} PRIMARY KEY)", "primary key"),
        ("CREATE TABLE {} (id int PRIMARY KEY, kind {}); CREATE TRIGGER append_only BEFORE "
         "UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
         "trigger append_only on"),
    ],
)
def test_online__what_it_cannot_carry__refused_under_online_blocking_under_auto(
    scratch_types, settings, caplog, setup, reason
):
    kind, table = scratch_types("kind"), scratch_types("cannot")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql(setup, table, kind, table)
    if "PARTITION" in setup:
        run_sql("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM (0) TO (100)",
                f"{table}_p", table)
    run_sql("INSERT INTO {} (id, kind) VALUES (1, 'c'), (2, 'b')", table)
    before = catalog_snapshot()
    with pytest.raises(RefusedChange, match=reason) as refused:
        _remove(kind, "c", "a")
    assert "ENUM_SWAP=auto" in str(refused.value)
    assert catalog_snapshot() == before

    settings.ENUM_SWAP = "auto"
    with caplog.at_level(logging.INFO, logger="betintel.enums.swap"):
        queries = _remove(kind, "c", "a")
    assert any("runs blocking, not online" in r.getMessage() and reason in r.getMessage()
               for r in caplog.records)
    assert any(f'"{table}" ALTER COLUMN "kind" TYPE' in query for query in queries)
    assert count(table, "kind") == {"a": 1, "b": 1}
    assert _leftovers() == []


def test_online__foreign_key_between_enum_columns__blocking_under_auto(scratch_types, settings):
    kind, keys, refs = scratch_types("kind"), scratch_types("keys"), scratch_types("refs")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {} UNIQUE)", keys, kind)
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {} REFERENCES {} (kind))", refs, kind,
            keys)
    run_sql("INSERT INTO {} VALUES (1, 'a'), (2, 'b')", keys)
    run_sql("INSERT INTO {} VALUES (1, 'a'), (2, 'b')", refs)
    with pytest.raises(RefusedChange, match="foreign key"):
        _remove(kind, "c", "b")
    settings.ENUM_SWAP = "auto"
    _remove(kind, "c", "b")
    assert enum_labels(kind) == ["a", "b"]


def test_auto__small_tables_or_atomic__blocking_big_non_atomic__online(scratch_types, settings):
    settings.ENUM_SWAP = "auto"
    settings.ENUM_ONLINE_MIN_ROWS = 5
    kind, table = scratch_types("kind"), scratch_types("auto")
    create_type(kind, ["a", "b", "c", "d"], {"c": "a", "d": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {})", table, kind)
    run_sql("INSERT INTO {} SELECT n, 'b' FROM generate_series(1, 5) n", table)
    queries = _remove(kind, "d", "a")  # 5 rows, never analysed: counted, not more than 5
    assert not any("CREATE TRIGGER" in query for query in queries)
    run_sql("INSERT INTO {} VALUES (6, 'c')", table)
    queries = _remove(kind, "c", "a", atomic=True)
    assert not any("CREATE TRIGGER" in query for query in queries)
    run_sql("ANALYZE {}", table)
    apply_operations("enumapp", ProjectState(), [AddEnumValue(kind, "e")])
    queries = _remove_added(kind, "e")
    assert any("CREATE TRIGGER" in query for query in queries)
    assert enum_labels(kind) == ["a", "b"]


def _remove_added(kind: str, value: str):
    """Unapply an AddEnumValue in a non-atomic migration: a reversal that removes a value."""
    with CaptureQueriesContext(connection) as captured:
        unapply_operations("enumapp", ProjectState(), [AddEnumValue(kind, value)], atomic=False)
    return [query["sql"] for query in captured.captured_queries]


def test_online__statistics_after_the_switch(scratch_types):
    kind, table = _kind_table(scratch_types, "stats",
                              "SELECT n, 'c' FROM generate_series(1, 50) n")
    _remove(kind, "c", "a")
    assert run_sql("SELECT reltuples::int FROM pg_class WHERE oid = %s::regclass",
                   params=[table]) == [(50,)]


def test_sqlmigrate__online_plan_statements_shown_nothing_run(scratch_types):
    from django.db.migrations import Migration

    kind, table = scratch_types("kind"), scratch_types("shown")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    outside_table(kind, table)
    before = catalog_snapshot()
    plan = Migration("0001_online", "enumapp")
    plan.operations = [RemoveEnumValue(kind, "c", "a")]
    plan.atomic = False
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        plan.apply(ProjectState(), editor, collect_sql=True)
    text = "\n".join(editor.collected_sql)
    for expected in (
        "-- step: shadow", "ADD COLUMN", "CREATE TRIGGER", "-- backfill:", "OFFSET 1 LIMIT 1",
        "CREATE UNIQUE INDEX CONCURRENTLY", "NOT VALID", "VALIDATE CONSTRAINT",
        "-- step: switch", "LOCK TABLE", "RENAME COLUMN", "SET NOT NULL", "DROP TYPE",
        "ANALYZE",
    ):
        assert expected in text, expected
    assert catalog_snapshot() == before
    assert _leftovers() == []


def test_remove_added_value_online__rows_hold_it__refused_nothing_changed(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("held")
    create_type(kind, ["a", "b"], {})
    apply_operations("enumapp", ProjectState(), [AddEnumValue(kind, "c")])
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {})", table, kind)
    run_sql("INSERT INTO {} VALUES (1, 'c'), (2, 'a')", table)
    before = catalog_snapshot()
    with pytest.raises(RefusedChange, match="still held by rows"):
        _remove_added(kind, "c")
    assert catalog_snapshot() == before
    assert _leftovers() == []


def test_enum_status_command__swap_under_way__warning_names_type_and_step(scratch_types):
    kind, table = _kind_table(scratch_types, "status", "VALUES (1, 'c')")
    _stop_after(kind, "indexes")
    out, _err, _code = run_command("enum_status", "--counts", "none")
    assert kind in out and "online" in out and "indexes" in out
    _remove(kind, "c", "a")
    assert _leftovers() == []


@pytest.mark.parametrize("shown", [True, False])
def test_online__progress_bar_on_stderr_only_while_migrate_shows_the_plan(
    scratch_types, capsys, shown
):
    kind, table = _kind_table(scratch_types, "progress",
                              "SELECT n, 'c' FROM generate_series(1, 7) n")
    run_sql("ANALYZE {}", table)
    logger = logging.getLogger("betintel.enums.swap")
    handler, saved = logging.NullHandler(), logger.level
    if shown:  # what migrate does at verbosity 1 or more
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        _remove(kind, "c", "a")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
    err = capsys.readouterr().err
    assert (f"public.{table}" in err and "100%" in err and "rows/s" in err) is shown
    assert count(table, "kind") == {"a": 7}


def test_online__interrupted_mid_backfill__resumes_from_the_last_key_copied(
    scratch_types, monkeypatch
):
    kind, table = _kind_table(scratch_types, "resume",
                              "SELECT n, 'c' FROM generate_series(1, 9) n")
    write_state, batches = OnlineSwap._write_state, []

    def dies_in_the_third_batch(self, step, cursor=None):
        write_state(self, step, cursor)
        if cursor is not None:
            batches.append(self.keys)
            if len(batches) == 3:
                raise RuntimeError("the process died")

    monkeypatch.setattr(OnlineSwap, "_write_state", dies_in_the_third_batch)
    with pytest.raises(RuntimeError, match="died"):
        _remove(kind, "c", "a")
    monkeypatch.undo()
    state = under_way(connection)[kind]
    assert state["step"] == "backfill"
    assert list(state["keys"].values()) == [["4"]]  # two batches of two committed, not the third
    copied = dict(run_sql("SELECT id, xmin::text FROM {} WHERE id <= 4", table))

    _remove(kind, "c", "a")

    assert dict(run_sql("SELECT id, xmin::text FROM {} WHERE id <= 4", table)) == copied
    assert count(table, "kind") == {"a": 9}
    assert _leftovers() == []


def test_online__mapping_breaks_a_check__stops_before_the_switch_then_finishes(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("breaks")
    create_type(kind, ["a", "b", "c"], {"c": "b"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {}, CONSTRAINT b_small "
            "CHECK (kind <> 'b' OR id < 10))", table, kind)
    run_sql("INSERT INTO {} VALUES (1, 'b'), (50, 'c')", table)
    with pytest.raises(RefusedChange, match="constraint b_small does not hold") as refused:
        _remove(kind, "c", "b")
    assert "run migrate again" in str(refused.value)
    assert count(table, "kind") == {"b": 1, "c": 1}
    assert enum_labels(kind) == ["a", "b", "c"]
    run_sql("UPDATE {} SET kind = 'a' WHERE id = 50", table)
    _remove(kind, "c", "b")
    assert count(table, "kind") == {"a": 1, "b": 1}
    assert _leftovers() == []


def test_online__type_name_needs_quoting_and_other_owner__kept(scratch_types):
    with quoted_type_of_another_owner(scratch_types) as (kind, owner, table):
        run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {} DEFAULT 'c', "
                "CHECK (kind <> 'b' OR id > 0))", table, kind)
        run_sql("CREATE INDEX {} ON {} (kind) WHERE kind = 'a'", f"{table}_a", table)
        run_sql("INSERT INTO {} VALUES (1, 'c'), (2, 'b')", table)
        _remove(kind, "c", "a")
        assert_quoted_type_kept(kind, owner, table)
        assert _leftovers() == []


def test_online__check_naming_the_type_on_a_text_column__rebuilt(scratch_types):
    kind, table = scratch_types("kind"), scratch_types("texty")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {}, note text, "
            "CONSTRAINT note_is_kind CHECK (note::{} IS NOT NULL))", table, kind, kind)
    run_sql("INSERT INTO {} VALUES (1, 'c', 'b'), (2, 'a', 'a')", table)
    definitions = _definitions(table)
    _remove(kind, "c", "a")
    assert _definitions(table)["indexes"] == definitions["indexes"]
    assert _definitions(table)["constraints"] == definitions["constraints"]
    with pytest.raises(DataError), transaction.atomic():
        run_sql("INSERT INTO {} VALUES (3, 'a', 'c')", table)
    assert _leftovers() == []


def test_online__switch_lock_refused__stays_under_way_then_finishes(scratch_types, settings):
    settings.ENUM_LOCK_TIMEOUT = "50ms"
    settings.ENUM_LOCK_RETRIES = 1
    kind, table = _kind_table(scratch_types, "busy", "VALUES (1, 'c'), (2, 'b')")
    with _held_swap(kind) as swap:
        swap.run(until="constraints")
        with psycopg.connect(**_dsn()) as reader:  # a transaction that read the table
            reader.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            with pytest.raises(LockNotAcquired, match="stays under way") as refused:
                swap.switch()
            assert f"pid {reader.info.backend_pid}" in str(refused.value)
    assert under_way(connection)[kind]["step"] == "switch"
    run_sql("INSERT INTO {} VALUES (3, 'c')", table)
    _remove(kind, "c", "a")
    assert count(table, "kind") == {"a": 2, "b": 1}
    assert _leftovers() == []


def _quote(name: str) -> str:
    return sql.Identifier(name).as_string(None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A column and the type may share a name; only the reference after :: is the type.
        ("(kind = 'a'::kind)", '("s_kind" = \'a\'::"public"."tmp")'),
        # Labels and other names that merely contain the column's name stay as they are.
        ("((kind)::text = 'kind, tags'::text)", "((\"s_kind\")::text = 'kind, tags'::text)"),
        ("(kind_other = tags[1])", '(kind_other = "s_tags"[1])'),
        # A function called like the column, a qualified type, a quoted column name.
        ("(kind(\"Odd col\") AND ('a'::public.kind = kind))",
         '(kind("s_odd") AND (\'a\'::"public"."tmp" = "s_kind"))'),
        ("(tags @> '{a}'::kind[])", '("s_tags" @> \'{a}\'::"public"."tmp"[])'),
        # Another schema's type of the same name is not ours.
        ("('a'::other.kind IS NULL)", "('a'::other.kind IS NULL)"),
    ],
)
def test_rewrite_references__columns_and_type_renamed_token_by_token(text, expected):
    from betintel.enums.sql import rewrite_references

    columns = {"kind": "s_kind", "tags": "s_tags", "Odd col": "s_odd"}
    assert rewrite_references(text, columns, "public", "kind", "tmp", _quote) == expected


def test_online__one_announcement_when_the_swap_finishes(scratch_types):
    from betintel.enums.signals import enum_changed

    kind, table = _kind_table(scratch_types, "announced", "VALUES (1, 'c'), (2, 'b')")
    heard = []

    def listen(sender, action, type_name, **kwargs):
        if type_name == kind:
            heard.append((action, enum_labels(kind)))

    enum_changed.connect(listen)
    try:
        _remove(kind, "c", "a")
    finally:
        enum_changed.disconnect(listen)
    assert heard == [("value_removed", ["a", "b"])]


def test_blocking_after_online_left_a_check_on_a_text_column__copy_dropped_no_cascade(
    scratch_types, settings
):
    kind, table = scratch_types("kind"), scratch_types("leftcheck")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    run_sql("CREATE TABLE {} (id int PRIMARY KEY, kind {}, note text, "
            "CONSTRAINT note_is_kind CHECK (note::{} IS NOT NULL))", table, kind, kind)
    run_sql("INSERT INTO {} VALUES (1, 'c', 'b')", table)
    _stop_after(kind, "constraints")
    settings.ENUM_SWAP = "blocking"
    _remove(kind, "c", "a", atomic=True)
    assert [name for name, _def, _valid in _definitions(table)["constraints"]] == [
        f"{table}_pkey", "note_is_kind"]
    assert _leftovers() == []


def test_online__type_no_table_uses__type_swapped_alone(scratch_types):
    kind = scratch_types("kind")
    create_type(kind, ["a", "b", "c"], {"c": "a"})
    _remove(kind, "c", "a")
    assert enum_labels(kind) == ["a", "b"]
    assert _leftovers() == []


def test_online__index_added_on_the_old_column_during_the_swap__switch_waits_for_a_copy(
    scratch_types,
):
    kind, table = _kind_table(scratch_types, "grown", "VALUES (1, 'c'), (2, 'b')")
    with _held_swap(kind) as swap:
        swap.run(until="constraints")
        run_sql("CREATE INDEX {} ON {} (kind) WHERE kind <> 'b'", f"{table}_late", table)
        with pytest.raises(RefusedChange, match="changed during its online swap"):
            swap.switch()
    _remove(kind, "c", "a")
    assert run_sql("SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                   params=[f"{table}_late"]) == [
        (f"CREATE INDEX {table}_late ON public.{table} USING btree (kind) "
         f"WHERE (kind <> 'b'::{kind})",)
    ]
    assert _leftovers() == []


def test_online__backend_terminated_mid_backfill__explained_then_resumed(
    scratch_types, monkeypatch
):
    kind, table = _kind_table(scratch_types, "terminated",
                              "SELECT n, 'c' FROM generate_series(1, 9) n")
    write_state = OnlineSwap._write_state

    def terminated_in_the_second_batch(self, step, cursor=None):
        if cursor is not None and self.keys.get(next(iter(self.keys))) == ["4"]:
            with psycopg.connect(**_dsn(), autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)",
                              [connection.connection.info.backend_pid])
        write_state(self, step, cursor)

    monkeypatch.setattr(OnlineSwap, "_write_state", terminated_in_the_second_batch)
    with pytest.raises(SwapInterrupted, match="stopped at its backfill step") as stopped:
        _remove(kind, "c", "a")
    assert "run migrate again" in str(stopped.value)
    monkeypatch.undo()
    connection.close()
    assert run_sql("SELECT count(*) FROM {}", table) == [(9,)]
    _remove(kind, "c", "a")
    assert count(table, "kind") == {"a": 9}
    assert _leftovers() == []


def test_online__stopped_after_the_switch__old_type_kept_then_dropped_with_added_value(
    scratch_types, monkeypatch
):
    kind, table = _kind_table(scratch_types, "switched", "VALUES (1, 'c'), (2, 'b')")

    def dies(*_args):
        raise RuntimeError("the process died")

    monkeypatch.setattr(switch, "drop_old_type", dies)
    with pytest.raises(RuntimeError, match="died"):
        _remove(kind, "c", "a")
    monkeypatch.undo()
    assert enum_labels(kind) == ["a", "b"]
    assert count(table, "kind") == {"a": 1, "b": 1}
    (old,) = run_sql("SELECT typname::text FROM pg_type WHERE left(typname, 13) = "
                     "'betintel_old_'")
    entry = next(e for e in report.build_report(counts="none").enums if e.type == kind)
    assert any("switch" in warning for warning in entry.warnings)
    # What an ADD VALUE that waited for the guard does once the switch commits.
    run_sql("ALTER TYPE {} ADD VALUE 'd' AFTER 'a'", old[0])

    _remove(kind, "c", "a")

    assert enum_labels(kind) == ["a", "d", "b"]
    assert _leftovers() == []


@pytest.mark.parametrize(
    ("copied", "seconds", "expected"),
    [
        (10_000, 0.5, 1_000),   # slow batch: the next one takes what 50 ms copied
        (10_000, 0.05, 10_000),  # on pace: unchanged
        (100, 0.001, 5_000),    # fast: grows with the pace
        (100, 0.0001, 10_000),  # very fast: back up to the setting, never above it
        (10_000, 100.0, 100),   # very slow: never below MIN_BATCH
        (0, 0.5, 10_000),       # nothing copied (the last batch): the setting
    ],
)
def test_next_batch_size__paced_by_the_last_batch__within_setting_and_minimum(
    copied, seconds, expected
):
    assert next_batch_size(10_000, copied, seconds) == expected


def test_next_batch_size__setting_below_minimum__the_setting_wins():
    assert next_batch_size(10, 10, 100.0) == 10
