"""The questions ``makemigrations`` asks about enum changes, in Django's questioner style."""

from __future__ import annotations

from django.db.migrations.questioner import (
    InteractiveMigrationQuestioner,
    MigrationQuestioner,
    NonInteractiveMigrationQuestioner,
)


class InteractiveEnumQuestioner(InteractiveMigrationQuestioner):
    """Asks on the terminal, like Django's "Was … renamed to …?"."""

    def ask_rename_enum_value(self, type_name: str, old: str, new: str) -> bool:
        """Was value ``old`` of ``type_name`` renamed to ``new`` (rather than removed)?"""
        return self._boolean_input(
            f"Did you rename value {old!r} of enum type {type_name} to {new!r}? [y/N]", False
        )


class EnumQuestioner(MigrationQuestioner):
    """The base questioner with the enum question answered from ``defaults`` (no by default)."""

    def ask_rename_enum_value(self, type_name: str, old: str, new: str) -> bool:
        """Answer from ``defaults['ask_rename_enum_value']``: never assume a rename unasked."""
        return self.defaults.get("ask_rename_enum_value", False)


class NonInteractiveEnumQuestioner(EnumQuestioner, NonInteractiveMigrationQuestioner):
    """Cannot ask: an edited value string is taken as a removal, which makemigrations refuses."""


def enum_questioner(questioner: MigrationQuestioner | None) -> MigrationQuestioner:
    """``questioner`` able to ask the enum questions, keeping everything it was given.

    Django's ``makemigrations`` builds its questioner inside ``handle()``; rather than copy that
    method, the autodetector upgrades the questioner it receives to the matching enum one.
    """
    if hasattr(questioner, "ask_rename_enum_value"):
        return questioner
    if questioner is None:
        return EnumQuestioner()
    common = {
        "defaults": questioner.defaults,
        "specified_apps": questioner.specified_apps,
        "dry_run": questioner.dry_run,
    }
    if isinstance(questioner, InteractiveMigrationQuestioner):
        return InteractiveEnumQuestioner(**common, prompt_output=questioner.prompt_output)
    if isinstance(questioner, NonInteractiveMigrationQuestioner):
        return NonInteractiveEnumQuestioner(
            **common, verbosity=questioner.verbosity, log=questioner.log
        )
    return EnumQuestioner(**common)
