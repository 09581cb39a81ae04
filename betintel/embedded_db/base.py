"""Django's PostgreSQL backend, pointed at the embedded server, which it starts on first use."""

from __future__ import annotations

from django.db.backends.postgresql import base

from .client import DatabaseClient
from .server import ensure_database, ensure_server


class DatabaseWrapper(base.DatabaseWrapper):
    """PostgreSQL through psycopg, against the embedded server of ``OPTIONS['pgdata']``."""

    client_class = DatabaseClient
    _created_databases: set[str] = set()

    def get_connection_params(self) -> dict:
        options = self.settings_dict.setdefault("OPTIONS", {})
        pgdata = options.get("pgdata")
        server = ensure_server(pgdata)
        self.settings_dict["HOST"] = server.host
        self.settings_dict["PORT"] = str(server.port)
        name = self.settings_dict.get("NAME") or "postgres"
        user = self.settings_dict.get("USER") or "postgres"
        if name not in self._created_databases and not name.startswith("test_"):
            ensure_database(server, name, user)
            self._created_databases.add(name)
        # `pgdata` is ours; psycopg must not see it.
        settings_dict = {**self.settings_dict, "OPTIONS": {
            key: value for key, value in options.items() if key != "pgdata"
        }}
        original, self.settings_dict = self.settings_dict, settings_dict
        try:
            return super().get_connection_params()
        finally:
            self.settings_dict = original
