"""Python source for the ``TextChoices`` class of an enum type found in a database.

``inspectdb`` meets enum types made by SQL or another migration tool; each becomes a class
whose members are named from the labels (valid identifiers, in the database's order), whose
values are the labels exactly, and whose human-readable labels are derived from them.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable

#: Prefix for a member or class name that would otherwise not start with a letter.
PREFIX = "V_"


def member_name(label: str) -> str:
    """``"player points"`` -> ``PLAYER_POINTS``; ``"1st-half"`` -> ``V_1ST_HALF``."""
    # Python reads identifiers in NFKC form; normalising first keeps what we compare honest.
    text = unicodedata.normalize("NFKC", label).upper()
    name = "".join(char if f"_{char}".isidentifier() else "_" for char in text)
    name = re.sub(r"_+", "_", name).strip("_")
    if not name:
        return "EMPTY" if label == "" else "VALUE"
    if not name[0].isidentifier():
        name = PREFIX + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def member_names(labels: Iterable[str]) -> list[str]:
    """One distinct member name per label; names that collide are numbered (``A_B_2``)."""
    used: set[str] = set()
    names = []
    for label in labels:
        base = member_name(label)
        name, number = base, 2
        while unicodedata.normalize("NFKC", name) in used:
            name, number = f"{base}_{number}", number + 1
        used.add(unicodedata.normalize("NFKC", name))
        names.append(name)
    return names


def readable_label(label: str) -> str:
    """``"player_points"`` -> ``"Player points"``: what forms and the admin show."""
    text = re.sub(r"[_\s]+", " ", label).strip()
    if not text:
        return "(empty)" if label == "" else label
    return text[:1].upper() + text[1:]


def class_name(type_name: str, taken: Iterable[str] = ()) -> str:
    """``bet_type_enum`` -> ``BetType``; ``Choices`` and then a number are added on collision."""
    stem = re.sub(r"_?enum$", "", type_name, flags=re.IGNORECASE) or type_name
    parts = [part for part in re.split(r"[^0-9A-Za-z]+", stem) if part]
    name = "".join(part[:1].upper() + part[1:] for part in parts) or "Enum"
    if not name[0].isalpha():
        name = "Enum" + name
    taken = set(taken)
    if name in taken or keyword.iskeyword(name):
        name += "Choices"
    base, number = name, 2
    while name in taken:
        name, number = f"{base}{number}", number + 1
    return name


def choices_class_source(name: str, labels: list[str]) -> list[str]:
    """The lines of ``class <name>(models.TextChoices)`` for ``labels``, in their order."""
    lines = [f"class {name}(models.TextChoices):"]
    for member, label in zip(member_names(labels), labels, strict=True):
        lines.append(f"    {member} = {label!r}, {readable_label(label)!r}")
    if not labels:
        lines.append("    pass")
    return lines
