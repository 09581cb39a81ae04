"""``dbshell`` for the embedded server: start it, then run psql against its socket."""

from __future__ import annotations

from django.db.backends.postgresql import client


class DatabaseClient(client.DatabaseClient):
    def runshell(self, parameters):
        self.connection.get_connection_params()  # starts the server and fills HOST/PORT
        super().runshell(parameters)
