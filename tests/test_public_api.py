"""The engine's public API: ``__all__`` names what other apps may use, and ``audit/`` and
``bets/`` use nothing else; the actions of ``enum_changed`` are the documented strings."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from betintel.enums.signals import EnumAction

ROOT = Path(__file__).resolve().parent.parent
ENGINE = "betintel.enums"


def _is_engine(name: str) -> bool:
    return name == ENGINE or name.startswith(ENGINE + ".")


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _split(dotted: str) -> tuple[str, str | None]:
    """``(module, name)``: the longest importable module of ``dotted``, and the next part."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        module = ".".join(parts[:end])
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        return module, (parts[end] if end < len(parts) else None)
    raise AssertionError(f"{dotted} names no module")


def engine_uses(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """``(engine module, name used from it or None, line)`` for each use in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_engine(node.module or ""):
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_engine(alias.name):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            dotted = _dotted(node)
            if dotted and _is_engine(dotted):
                yield *_split(dotted), node.lineno


def test_audit_and_bets__use_only_names_in_an_engine_all():
    uses = [
        (path.relative_to(ROOT), module, name, line)
        for app in ("audit", "bets")
        for path in sorted((ROOT / app).rglob("*.py"))
        for module, name, line in engine_uses(path)
    ]
    private = [
        f"{path}:{line} uses {module}" + (f".{name}" if name else "")
        for path, module, name, line in uses
        if not hasattr(sys.modules[module], "__all__")
        or (name is not None and name not in sys.modules[module].__all__)
    ]

    assert {(module, name) for _path, module, name, _line in uses} >= {
        ("betintel.enums", "EnumField"),
        ("betintel.enums.signals", "enum_changed"),
        ("betintel.enums.operations", "AddEnumValue"),
        ("betintel.enums.admin", "EnumCountsMixin"),
    }
    assert private == []


def test_engine_use_finder__private_module_and_name__both_found(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "import betintel.enums.operations\n"
        "from betintel.enums.markers import EnumLabel\n"
        "x = betintel.enums.operations.check_labels\n"
    )

    assert sorted(engine_uses(source), key=lambda use: use[2]) == [
        ("betintel.enums.operations", None, 1),
        ("betintel.enums.markers", "EnumLabel", 2),
        ("betintel.enums.operations", "check_labels", 3),
    ]


@pytest.mark.parametrize(
    "module", ["betintel.enums", "betintel.enums.signals", "betintel.enums.operations",
               "betintel.enums.admin", "betintel.enums.errors", "betintel.enums.choices"],
)
def test_public_module__every_name_in_all__defined(module):
    imported = importlib.import_module(module)

    assert imported.__all__
    assert [name for name in imported.__all__ if not hasattr(imported, name)] == []


def test_enum_action__values__the_actions_the_readme_documents():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("betintel.enums.signals.enum_changed"):]
    documented = re.findall(r"`(\w+)`", section[: section.index("type_name")])

    assert [action.value for action in EnumAction] == [
        name for name in documented if name != "action"
    ]
