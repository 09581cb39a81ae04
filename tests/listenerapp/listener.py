"""A listener of ``enum_changed`` that keeps what a committed transaction announced.

It records an announcement when the transaction it was sent in commits, as a listener writing
records of its own in the operation's transaction would keep them: nothing of a migration that
rolled back. The record is ``details`` (``operation``, ``type``, ``value``, ``direction``,
``migration``) with the ``action``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import transaction


def record_on_commit(keep: Callable[[dict], None]) -> Callable:
    """A receiver for ``enum_changed`` handing each committed announcement to ``keep``."""

    def receiver(sender, action, type_name, value, details, using, **kwargs) -> None:
        heard = {**details, "action": str(action), "type_name": type_name, "using": using}
        transaction.on_commit(lambda: keep(heard), using=using)

    return receiver


def write_to(path: str) -> Callable:
    """A receiver appending each committed announcement to ``path`` as a line of JSON."""

    def keep(heard: dict) -> None:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(heard) + "\n")

    return record_on_commit(keep)


def read_from(path) -> list[dict]:
    """The announcements ``write_to(path)`` kept, in order."""
    try:
        with open(path, encoding="utf-8") as file:
            return [json.loads(line) for line in file if line.strip()]
    except FileNotFoundError:
        return []
