"""The backfill step: existing rows copied to the shadow columns in short batches by key.

Batches of ``ENUM_BACKFILL_BATCH`` rows walk a key range (primary key, or a unique not-null
key), one short transaction each under ``lock_timeout`` with retries. A writer that meets a row
of a batch waits for the batch to commit, so a batch also takes no more rows than the previous
one copied in ``BATCH_SECONDS`` (``next_batch_size``): on a busy or slow table batches shrink,
and the longest stall stays bounded whatever the setting. A batch sets
``betintel.online_backfill`` to ``on`` in its transaction and computes the shadow columns
itself; the trigger's WHEN clause skips those updates (without calling the function), and every
other write still goes through it. The last key copied is recorded with each batch, so a
resumed swap goes on from there. A progress bar (rows, rows/s, time left) goes to stderr when
``migrate`` shows the plan (verbosity 1 or more).
"""

from __future__ import annotations

import logging
import sys
import time

from psycopg import sql

from .. import conf
from .. import sql as enum_sql
from .names import BACKFILL_SETTING, logger
from .plan import OnlineTable

#: How long one backfill batch should hold its rows: a writer that meets a row of the batch
#: waits for the batch to commit, so this bounds the longest stall the backfill causes.
BATCH_SECONDS = 0.05
#: Batches never shrink below this many rows (each batch has a fixed cost of its own).
MIN_BATCH = 100


def next_batch_size(limit: int, copied: int, seconds: float) -> int:
    """Rows for the next batch: as many as the last batch's pace copies in ``BATCH_SECONDS``,
    at most ``limit`` (``ENUM_BACKFILL_BATCH``) and at least ``MIN_BATCH`` (or ``limit``)."""
    if copied <= 0 or seconds <= 0:
        return limit
    paced = int(copied * BATCH_SECONDS / seconds)
    return max(min(MIN_BATCH, limit), min(limit, paced))


class Backfill:
    """The backfill step of ``OnlineSwap`` (``steps.py``), which gives it its plan, keys and
    the runners ``_attempts`` and ``_write_state``."""

    def backfill(self) -> None:
        """Copy every row's enum columns to the shadow columns, in short batches by key."""
        self._record("backfill")
        batch = conf.backfill_batch()
        for table in self.plan.tables:
            if not table.columns or self.keys.get(str(table.table.oid)) == "done":
                continue
            if self.editor.collect_sql:
                self._show_batches(table, batch)
            else:
                self._backfill_table(table, batch)

    def _show_batches(self, table: OnlineTable, batch: int) -> None:
        """Under ``sqlmigrate``: one batch's statements, with placeholders for its keys."""
        self._run(sql.SQL("-- backfill: these statements run once per batch of {} "
                          "rows, each batch in its own transaction, until no row is "
                          "left: last_key is the last key copied (none at first), "
                          "batch_end what the SELECT finds (none: no bound)")
                  .format(sql.Literal(batch)))
        self._run(sql.SQL("SET LOCAL {} = 'on'").format(
            sql.Identifier(*BACKFILL_SETTING.split("."))))
        self._run(self._batch_end(table, [sql.Placeholder("last_key")], batch))
        self._run(self._batch(table, [sql.Placeholder("last_key")],
                              [sql.Placeholder("batch_end")]))

    def _backfill_table(self, table: OnlineTable, limit: int) -> None:
        key = str(table.table.oid)
        after = self.keys.get(key)
        bar = _progress(table)
        size = limit

        def work(cursor, after, size):
            cursor.execute("SELECT set_config(%s, 'on', true)", [BACKFILL_SETTING])
            cursor.execute(enum_sql.render(self._batch_end(table, after, size), self.connection))
            row = cursor.fetchone()
            upper = list(row) if row else None
            cursor.execute(enum_sql.render(self._batch(table, after, upper), self.connection))
            copied = cursor.rowcount
            self.keys[key] = upper if upper is not None else "done"
            self._write_state("backfill", cursor)
            return upper, copied

        try:
            while after != "done":
                started = time.monotonic()
                after, copied = self._attempts(
                    lambda cursor, after=after, size=size: work(cursor, after, size),
                    [table.table])
                size = next_batch_size(limit, copied, time.monotonic() - started)
                after = "done" if after is None else after
                if bar is not None:
                    bar.update(copied)
        finally:
            if bar is not None:
                bar.close()

    def _batch(self, table: OnlineTable, after: list | None, upper: list | None):
        """The update of one batch: the rows with keys after ``after``, up to ``upper``.

        A key range walks the key's index. Run with ``BACKFILL_SETTING`` on, so the trigger
        does not compute the shadow columns a second time.
        """
        keys = sql.SQL(", ").join(enum_sql.identifier(name) for name, _ in table.key)
        conditions = []
        if after is not None:
            conditions.append(sql.SQL("({}) > ({})").format(keys, self._key(table, after)))
        if upper is not None:
            conditions.append(sql.SQL("({}) <= ({})").format(keys, self._key(table, upper)))
        where = sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(conditions)) if conditions \
            else sql.SQL("")
        target = table.table.identifier
        sets = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(enum_sql.identifier(column.shadow), self._mapped(
                sql.SQL("{}.{}").format(target, enum_sql.identifier(column.name)), column))
            for column in table.columns
        )
        return sql.SQL("UPDATE {} SET {}{}").format(target, sets, where)

    def _batch_end(self, table: OnlineTable, after: list | None, size: int):
        """The last key of the next batch (no row: fewer than ``size`` rows are left)."""
        keys = sql.SQL(", ").join(enum_sql.identifier(name) for name, _ in table.key)
        as_text = sql.SQL(", ").join(sql.SQL("{}::text").format(enum_sql.identifier(name))
                                     for name, _ in table.key)
        where = sql.SQL("")
        if after is not None:
            where = sql.SQL(" WHERE ({}) > ({})").format(keys, self._key(table, after))
        # Ordered by the table's columns, qualified: a bare name would sort by the output
        # column of the same name, the key as text ("100000" before "9"), in a full sort.
        ordered = sql.SQL(", ").join(
            sql.SQL("{}.{}").format(table.table.identifier, enum_sql.identifier(name))
            for name, _ in table.key)
        return sql.SQL("SELECT {} FROM {}{} ORDER BY {} OFFSET {} LIMIT 1").format(
            as_text, table.table.identifier, where, ordered, sql.Literal(size - 1))

    def _key(self, table: OnlineTable, values: list) -> sql.Composable:
        """A key's values (text, as recorded) cast to the key's types; ``sqlmigrate`` shows one
        placeholder for the whole key instead."""
        if len(values) == 1 and isinstance(values[0], sql.Placeholder):
            return values[0]
        return sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Literal(value), enum_sql.catalog_definition(kind))
            for value, (_, kind) in zip(values, table.key, strict=True)
        )


def _progress(table: OnlineTable):
    """A progress bar on stderr while ``migrate`` shows the plan (verbosity 1 or more)."""
    if not (logger.isEnabledFor(logging.INFO) and logger.handlers):
        return None
    from tqdm import tqdm

    rows = table.table.estimated_rows
    return tqdm(total=rows if rows > 0 else None, unit=" rows", unit_scale=True,
                desc=f"  {table.table}", file=sys.stderr, mininterval=0.5, leave=True)
