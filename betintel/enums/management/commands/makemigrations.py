"""``makemigrations`` that also writes enum operations (see ``betintel.enums.autodetector``)."""

from __future__ import annotations

from django.core.management.commands import makemigrations

from betintel.enums.autodetector import EnumAutodetector


class Command(makemigrations.Command):
    help = (
        makemigrations.Command.help
        + " Also detects changes to enum types, and refuses unsafe ones (a value deleted "
        "without being deprecated first, or edited in place)."
    )
    autodetector = EnumAutodetector

    def handle(self, *app_labels, **options):
        # Warnings of the autodetector (members reordered) belong on this run's stderr.
        self.autodetector = type(self).autodetector.reporting_to(self.write_warning)
        return super().handle(*app_labels, **options)

    def write_warning(self, message: str) -> None:
        """Print ``message`` as a warning on stderr."""
        self.stderr.write(self.style.WARNING(f"Warning: {message}"))
