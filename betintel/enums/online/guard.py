"""The guard: a second session holding the old type for the whole online swap.

It runs ``COMMENT ON TYPE`` with the type's own comment inside a transaction it keeps open.
That holds a ``SHARE UPDATE EXCLUSIVE`` lock on the type, which conflicts with ``ALTER TYPE …
ADD VALUE`` (so no value can be added to the old type and then be unknown to the new one) and
with nothing that reads or writes rows. The guard holds the type from before the plan reads
its values to the switch, which runs in the guard's session so that the commit making the new
type current releases it (as does the process dying). It lets go during the ``indexes`` step
only (``OnlineSwap._indexes_unguarded`` says why). The guard rewrites the comment, so its
transaction has an id: VACUUM cannot reclaim the row versions the backfill leaves until the
switch commits.
"""

from __future__ import annotations

from django.db import connections, transaction

from .. import introspection, locks
from .. import sql as enum_sql


class Guard:
    """A second session holding the old type for the whole swap (see the module doc)."""

    def __init__(self, connection, type_name: str) -> None:
        self.type_name = type_name
        self.alias = f"{connection.alias}__betintel_guard_{id(self)}"
        wrapper = connections[connection.alias]  # the class of the backend, not a proxy's
        self.connection = type(wrapper)(dict(wrapper.settings_dict), self.alias)
        connections[self.alias] = self.connection
        self.editor = self.connection.schema_editor(atomic=False)
        self._transaction = None

    def hold(self) -> None:
        """Open the guard's transaction and lock the type (under the lock budget)."""
        self._transaction = transaction.atomic(using=self.alias)
        self._transaction.__enter__()
        purpose = f"holding enum type {self.type_name} during its online swap"
        # The comment changes only through migrations, which migrate runs one at a time.
        locks.run_locked(self.editor, enum_sql.comment_on_type(self.type_name, self.comment()),
                         purpose, type_name=self.type_name)

    def comment(self) -> str | None:
        existing = introspection.enum_type(self.connection, self.type_name)
        return existing.comment if existing else None

    def commit(self) -> None:
        self._transaction.__exit__(None, None, None)
        self._transaction = None

    def release(self) -> None:
        """End the guard's transaction (rolled back): the type is no longer held."""
        try:
            if self._transaction is not None:
                self._transaction.__exit__(RuntimeError, RuntimeError("released"), None)
        finally:
            self._transaction = None

    def close(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001 - the session may be gone already; we only clean up
            pass
        finally:
            self.connection.close()
            del connections[self.alias]
