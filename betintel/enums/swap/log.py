"""The swaps' logger, and the plan a blocking swap logs before any table is rewritten (SPEC §4).

``migrate`` routes this logger to its output (``swap.logger``). The online swap
(``online/names.py``) and the drop of old types (``old_types.py``) log to it by its name,
``betintel.enums.swap``, so one routing shows all of a swap's story.
"""

from __future__ import annotations

import logging

from .plan import SwapPlan

logger = logging.getLogger("betintel.enums.swap")


def log_plan(plan: SwapPlan) -> None:
    """Log the tables ``plan`` rewrites, each with its estimated rows, size and columns."""
    rewritten = [table for table in plan.tables if table.columns]
    moved = f" (rows move to {plan.replacement!r})" if plan.replacement is not None else ""
    logger.info(
        "Removing %r from enum type %s%s by a type swap; %s.",
        plan.value, plan.type_name, moved,
        f"rewriting {len(rewritten)} table{'s' if len(rewritten) != 1 else ''}"
        if rewritten else "no table to rewrite",
    )
    for table in rewritten:
        rows = table.table.estimated_rows
        logger.info(
            "  Rewriting %s: %s, %s (columns: %s)",
            table.table,
            f"about {rows:,} rows" if rows >= 0 else "rows not estimated yet (never analysed)",
            _size(table.table.size_bytes),
            ", ".join(column.name for column in table.columns),
        )


def _size(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} TB"
