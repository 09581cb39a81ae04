"""Online or blocking: the decision a type swap and a column conversion share (SPEC §4a).

``ENUM_SWAP=blocking`` never runs online; ``online`` always does, and is an error in an atomic
migration (before anything changes); ``auto`` runs online when the migration is non-atomic and
a table the change rewrites holds more than ``ENUM_ONLINE_MIN_ROWS`` rows, or when an online
change of the same thing is under way (it is resumed). Rows are the planner's estimate; for a
table never analysed, they are counted, at most ``ENUM_ONLINE_MIN_ROWS + 1`` of them (a bounded
read, never the whole table). What the plan says cannot run online makes ``auto`` fall back,
saying why, and ``online`` refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg import sql

from .. import conf
from .. import sql as enum_sql
from ..errors import RefusedChange
from ..introspection import Dependents
from .names import AUTO, BLOCKING, ONLINE, logger
from .plan import OnlinePlan, plan_swap
from .state import under_way


def choose(schema_editor, blocking, dependents: Dependents) -> OnlinePlan | None:
    """The online plan when the swap ``blocking`` (a ``SwapPlan``) runs online, else None."""
    mode = conf.swap_mode()
    if mode == BLOCKING:
        return None
    what = f"removing {blocking.value!r} from enum type {blocking.type_name}"

    def build(connection) -> OnlinePlan:
        return plan_swap(connection, blocking, dependents)

    def resumes(connection, online: OnlinePlan) -> bool:
        return online.type_name in under_way(connection)

    def fall_back(online: OnlinePlan, reasons: str, resuming: bool) -> None:
        logger.info("The swap %s runs blocking, not online: %s.", what, reasons)

    return decide(
        schema_editor, mode, build, resumes, fall_back,
        atomic_refusal=(
            f"ENUM_SWAP=online, but the migration {what} is atomic, and an online swap runs "
            "many short transactions. Nothing was changed. Set atomic = False on the migration "
            "(makemigrations writes removals that way), or set ENUM_SWAP=auto or blocking."
        ),
        reasons_refusal=lambda reasons: (
            f"ENUM_SWAP=online, but {what} cannot run online: {reasons}. Nothing was "
            "changed. Set ENUM_SWAP=auto to fall back to the blocking swap, or change "
            "those objects in an earlier migration."
        ),
    )


def decide(schema_editor, mode: str, build: Callable, resumes: Callable, fall_back: Callable,
           *, atomic_refusal: str, reasons_refusal: Callable[[str], str]):
    """The plan ``build`` makes when the change runs online, else None: the one decision a swap
    and a conversion share (mode, atomic migration, table size, reasons), each with its own
    words for a refusal and its own way of falling back."""
    atomic = schema_editor.atomic_migration
    if mode == ONLINE and atomic:
        raise RefusedChange(atomic_refusal)
    if atomic:
        return None
    connection = schema_editor.connection
    online = build(connection)
    resuming = resumes(connection, online)
    if mode == AUTO and not resuming and not _big_enough(connection, online):
        return None
    if online.reasons:
        reasons = "; ".join(online.reasons)
        if mode == ONLINE:
            raise RefusedChange(reasons_refusal(reasons))
        fall_back(online, reasons, resuming)
        return None
    return online


def _big_enough(connection, online: OnlinePlan) -> bool:
    limit = conf.online_min_rows()
    for table in online.tables:
        if not table.columns:
            continue
        rows = table.table.estimated_rows
        if rows <= 0:  # never analysed (0 before PostgreSQL 14): count, up to the limit
            statement = sql.SQL("SELECT count(*) FROM (SELECT FROM {} LIMIT {}) AS t").format(
                table.table.identifier, sql.Literal(limit + 1)
            )
            with connection.cursor() as cursor:
                cursor.execute(enum_sql.render(statement, connection))
                rows = cursor.fetchone()[0]
        if rows > limit:
            return True
    return False
