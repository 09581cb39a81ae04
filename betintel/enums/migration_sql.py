"""What hand-written migration SQL (``RunSQL``) does to enum types, found by parsing it (pglast)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.migrations.operations import RunSQL, SeparateDatabaseAndState
from pglast import ast, parse_sql
from pglast.enums import ObjectType
from pglast.parser import ParseError
from pglast.visitors import Visitor

#: Kinds of finding.
CHANGES_TYPE = "changes_type"
WRITES_PG_ENUM = "writes_pg_enum"
COMMENTS_TYPE = "comments_type"
UNPARSABLE = "unparsable"


@dataclass(frozen=True)
class Finding:
    """One statement of a ``RunSQL`` that touches an enum type (or could not be read)."""

    kind: str
    what: str  # e.g. "drops enum type bet_type_enum"
    statement: str


def run_sql_texts(operations: Iterable) -> Iterator[tuple[str, bool]]:
    """``(sql, has_params)`` for every statement string of the ``RunSQL`` operations, both ways."""
    for operation in operations:
        if isinstance(operation, SeparateDatabaseAndState):
            yield from run_sql_texts(operation.database_operations)
        elif isinstance(operation, RunSQL):
            for sqls in (operation.sql, operation.reverse_sql):
                yield from _statements(sqls)


def _statements(sqls) -> Iterator[tuple[str, bool]]:
    if sqls is None or sqls == RunSQL.noop:
        return
    if isinstance(sqls, str):
        yield sqls, False
        return
    for item in sqls:
        if isinstance(item, list | tuple):
            yield item[0], len(item) > 1 and item[1] is not None
        else:
            yield item, False


def findings(sql: str, managed: set[str], has_params: bool = False) -> list[Finding]:
    """What ``sql`` does to the ``managed`` enum types and to ``pg_enum``."""
    if has_params:
        # The driver fills %s placeholders; give the parser positional parameters instead.
        counter = iter(range(1, 10_000))
        sql = re.sub(r"%%|%s", lambda m: "%" if m[0] == "%%" else f"${next(counter)}", sql)
    try:
        statements = parse_sql(sql)
    except ParseError as error:
        return [Finding(UNPARSABLE, f"cannot be parsed ({error})", sql.strip()[:200])]
    found = []
    for raw in statements:
        end = raw.stmt_location + raw.stmt_len if raw.stmt_len else len(sql)
        text = " ".join(sql[raw.stmt_location : end].split())[:200]
        for node in _Nodes.of(raw.stmt):
            result = _judge(node, managed)
            if result is not None:
                found.append(Finding(result[0], result[1], text))
    return found


class _Nodes(Visitor):
    """Every node of a statement, nested ones (CTEs, subqueries) included."""

    @classmethod
    def of(cls, statement) -> list:
        visitor = cls()
        visitor.nodes = []
        visitor(statement)
        return visitor.nodes

    def visit(self, ancestors, node):
        self.nodes.append(node)


def _judge(node, managed: set[str]) -> tuple[str, str] | None:
    if isinstance(node, ast.AlterEnumStmt):
        return _on_type(_name(node.typeName), managed, "alters the values of enum type {}")
    if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TYPE:
        for obj in node.objects or ():
            result = _on_type(_name(obj), managed, "drops enum type {}")
            if result is not None:
                return result
        return None
    if isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_TYPE:
        return _on_type(_name(node.object), managed, "renames enum type {}")
    if isinstance(node, ast.AlterObjectSchemaStmt) and node.objectType == ObjectType.OBJECT_TYPE:
        return _on_type(_name(node.object), managed, "moves enum type {} to another schema")
    if isinstance(node, ast.CommentStmt) and node.objtype == ObjectType.OBJECT_TYPE:
        name = _name(node.object)
        if name in managed:
            return COMMENTS_TYPE, f"replaces the comment of enum type {name}"
        return None
    return _writes_pg_enum(node)


def _on_type(name: str | None, managed: set[str], what: str) -> tuple[str, str] | None:
    if name in managed:
        return CHANGES_TYPE, what.format(name)
    return None


def _writes_pg_enum(node) -> tuple[str, str] | None:
    targets = []
    if isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt | ast.MergeStmt):
        targets = [node.relation]
    elif isinstance(node, ast.TruncateStmt):
        targets = list(node.relations or ())
    elif isinstance(node, ast.CopyStmt) and node.is_from:
        targets = [node.relation]
    for target in targets:
        if (
            isinstance(target, ast.RangeVar)
            and target.relname == "pg_enum"
            and target.schemaname in (None, "pg_catalog")
        ):
            verb = type(node).__name__.removesuffix("Stmt").upper()
            return WRITES_PG_ENUM, f"writes the catalog pg_enum ({verb})"
    return None


def _name(obj) -> str | None:
    """The unqualified type name in a TypeName, a list of Strings, or a RangeVar."""
    if isinstance(obj, ast.TypeName):
        obj = obj.names
    if isinstance(obj, ast.RangeVar):
        return obj.relname
    if isinstance(obj, list | tuple) and obj and isinstance(obj[-1], ast.String):
        return obj[-1].sval
    return None
