"""``makemigrations`` that also writes enum operations (see ``betintel.enums.autodetector``)."""

from __future__ import annotations

from django.core.management.commands import makemigrations

from betintel.enums.autodetector import EnumAutodetector


class Command(makemigrations.Command):
    help = makemigrations.Command.help + " Also detects changes to enum types."
    autodetector = EnumAutodetector
