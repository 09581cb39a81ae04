"""The online type swap: removing a value beside live traffic (SPEC §4a); and the online
conversion of a column between a character type and an enum type (SPEC §4b).

A blocking swap (``swap/``) rewrites each table under ``ACCESS EXCLUSIVE``. Online, each table
keeps serving reads and writes while a copy of its enum columns is built beside it; only the
final switch takes the table's lock, for catalog changes alone.

Which one runs: ``choose.py`` (``ENUM_SWAP``, the migration's atomicity, the table's size). What
the online path cannot carry (``OnlinePlan.reasons``, found by ``plan.py``: a partitioned or
inheriting table, a table without a primary key or unique not-null key, a key or exclusion
constraint using an enum column, a foreign key between columns of the type, a deferrable unique
constraint on one, a user trigger or rule acting on UPDATE (the backfill updates every row,
which must fire nothing else) or a BEFORE INSERT trigger that would run after ours, extended
statistics or column privileges on an enum column) makes ``auto`` fall back to the blocking
swap, saying why in the plan output, and ``online`` refuse.

The steps (``steps.py``), each recorded in the state before it runs: ``shadow`` (the new type,
shadow columns and the trigger keeping them in step: ``statements.py``), ``backfill``
(``backfill.py``), ``indexes``, ``constraints``, ``switch`` (``switch.py``). A second session
holds the type from before the plan reads its values to the switch (``guard.py``). After the
switch, the old type is kept until sessions that waited for it have finished, then dropped
with any value they added carried over (``old_types.py``, shared with the blocking swap).
Afterwards the tables are ANALYZEd (under ``lock_timeout``).

State (``state.py``): ``under_way`` finds every swap in progress (``enum_status`` warns), and a
later ``migrate`` resumes it: every step checks the catalog and does only what is missing. A
blocking swap or an atomic migration meeting a swap under way first drops what it left
(``abandon``). After success nothing named ``betintel_`` remains (``names.py``).

Interrupted anywhere, every table stays readable and writable with all its rows: the old
columns stay the real ones until the switch commits, and the trigger maps what is written
meanwhile. After the ``constraints`` step, a write the new type could not hold (the removed
value when there is no replacement; a value added to the old type while no swap process runs)
is refused by the helper CHECK, as it would be after the swap.

Like the blocking swap, the switch replaces the type: a statement a client prepared on the
server with a parameter of the old type (psycopg prepares a query run five times unless
``prepare_threshold=None``; Django does not) fails once the old type is dropped and must be
prepared again. Columns move to the end of their table.

API: ``choose(schema_editor, swap_plan, dependents)`` returns an ``OnlinePlan`` or None;
``remove_value(schema_editor, online_plan)`` holds the type (``Guard``), plans again and runs
``OnlineSwap.run()``, then ``analyze()``. ``under_way(connection)`` gives ``{type name:
state}``; ``abandon(schema_editor, type_name)`` drops an unfinished swap. The same steps
convert one column (``conversion/``, ``conversion_steps.py``): ``choose_conversion`` decides,
``convert(schema_editor, plan)`` runs or resumes it, ``leave_conversion`` drops what an
unfinished one left before converting in place, ``conversions_under_way(connection)`` gives
``{"schema.table.column": state}``.
"""

from __future__ import annotations

from django.db import DatabaseError

from ..errors import SwapInterrupted
from .choose import choose
from .conversion import ConversionPlan, choose_conversion, leave_conversion
from .conversion_steps import OnlineConversion
from .guard import Guard
from .names import ONLINE, PREFIX
from .plan import OnlinePlan, plan_held
from .state import abandon, conversions_under_way, under_way
from .steps import OnlineSwap

__all__ = [
    "ONLINE", "PREFIX", "OnlinePlan", "abandon", "choose", "choose_conversion", "convert",
    "conversions_under_way", "leave_conversion", "remove_value", "under_way",
]


def remove_value(schema_editor, online: OnlinePlan) -> None:
    """Run (or resume) the online swap ``online``; the module doc gives the steps."""
    if schema_editor.collect_sql:
        OnlineSwap(schema_editor, online, None).show()
        return
    guard = Guard(schema_editor.connection, online.type_name)
    try:
        guard.hold()
        # Planned again now that the type is held: a value added before is in the new type.
        swap = OnlineSwap(schema_editor, plan_held(schema_editor.connection, online), guard)
        try:
            swap.run()
        except DatabaseError as exc:
            raise SwapInterrupted(swap.interrupted(exc)) from exc
    finally:
        guard.close()
    swap.analyze()


def convert(schema_editor, online: ConversionPlan) -> None:
    """Run (or resume) the online conversion ``online``, then analyse its table."""
    conversion = OnlineConversion(schema_editor, online)
    if schema_editor.collect_sql:
        conversion.show()
        return
    try:
        conversion.run()
    except DatabaseError as exc:
        raise SwapInterrupted(conversion.interrupted(exc)) from exc
    conversion.analyze()
