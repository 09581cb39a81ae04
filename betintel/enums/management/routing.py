"""Routing an engine logger to a command's own output for as long as the command runs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def routed(logger: logging.Logger, handler: logging.Handler, level: int) -> Iterator[None]:
    """Send ``logger``'s records of ``level`` and above to ``handler`` only (not also to the
    project's handlers), and put the logger back as it was afterwards."""
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
