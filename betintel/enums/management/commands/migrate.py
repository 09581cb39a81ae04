"""``migrate`` that tells the enum engine which migration it is applying."""

from __future__ import annotations

from django.core.management.commands import migrate

from betintel.enums.autodetector import EnumAutodetector
from betintel.enums.signals import current_migration


class Command(migrate.Command):
    help = migrate.Command.help
    autodetector = EnumAutodetector

    def migration_progress_callback(self, action, migration=None, fake=False):
        if action in ("apply_start", "unapply_start") and migration is not None:
            self._migration_token = current_migration.set(
                f"{migration.app_label}.{migration.name}"
            )
        elif action in ("apply_success", "unapply_success") and hasattr(self, "_migration_token"):
            current_migration.reset(self._migration_token)
            del self._migration_token
        super().migration_progress_callback(action, migration, fake)
