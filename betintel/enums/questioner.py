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
        return _ask_on_terminal(self, type_name, old, new)


class EnumQuestioner(MigrationQuestioner):
    """The base questioner with the enum question answered from ``defaults`` (no by default)."""

    def ask_rename_enum_value(self, type_name: str, old: str, new: str) -> bool:
        """Answer from ``defaults['ask_rename_enum_value']``: never assume a rename unasked."""
        return _default_answer(self)


class NonInteractiveEnumQuestioner(EnumQuestioner, NonInteractiveMigrationQuestioner):
    """Cannot ask: an edited value string is taken as a removal, which makemigrations refuses."""


def ask_rename_enum_value(
    questioner: MigrationQuestioner, type_name: str, old: str, new: str
) -> bool:
    """Ask ``questioner`` whether value ``old`` of ``type_name`` was renamed to ``new``.

    A questioner with its own ``ask_rename_enum_value`` answers itself. Any other questioner
    (Django's, or a project's subclass) is asked the way its kind asks Django's questions: on
    its terminal when it is interactive, from its ``defaults`` otherwise. The questioner is
    used as given, so its answers to Django's own questions stay its own.
    """
    own = getattr(questioner, "ask_rename_enum_value", None)
    if own is not None:
        return own(type_name, old, new)
    if isinstance(questioner, InteractiveMigrationQuestioner):
        return _ask_on_terminal(questioner, type_name, old, new)
    return _default_answer(questioner)


def _ask_on_terminal(
    questioner: InteractiveMigrationQuestioner, type_name: str, old: str, new: str
) -> bool:
    # _boolean_input is how every question of Django's interactive questioner is asked (its
    # prompt_output and input()); Django offers no public way to ask a yes/no question.
    return questioner._boolean_input(
        f"Did you rename value {old!r} of enum type {type_name} to {new!r}? [y/N]", False
    )


def _default_answer(questioner: MigrationQuestioner) -> bool:
    return bool(questioner.defaults.get("ask_rename_enum_value", False))
