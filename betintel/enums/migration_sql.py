"""What hand-written migration SQL (``RunSQL``) does to enum types, found by parsing it (pglast)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.migrations.operations import RunSQL, SeparateDatabaseAndState
from pglast import ast, parse_plpgsql, parse_sql
from pglast.enums import ObjectType
from pglast.parser import ParseError
from pglast.visitors import Visitor

#: Kinds of finding.
CHANGES_TYPE = "changes_type"
WRITES_PG_ENUM = "writes_pg_enum"
COMMENTS_TYPE = "comments_type"
UNPARSABLE = "unparsable"
DYNAMIC = "dynamic"

# PL/pgSQL statements that run a string built at run time: EXECUTE, FOR ... IN EXECUTE, and
# OPEN ... FOR EXECUTE / RETURN QUERY EXECUTE (which hold the string as ``dynquery``).
_DYNAMIC_STATEMENTS = {"PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"}
_DYNAMIC_QUERY = "dynquery"
# A PL/pgSQL expression parsed as a whole SQL statement (PostgreSQL's RAW_PARSE_DEFAULT), as
# opposed to an expression or an assignment.
_STATEMENT_PARSE_MODE = 0
# Function languages whose body is no code to read (an object file and a symbol).
_LINKED_LANGUAGES = {"c", "internal"}


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
        source = sql[raw.stmt_location : end]
        text = " ".join(source.split())[:200]
        for node in _Nodes.of(raw.stmt):
            result = _judge(node, managed)
            if result is not None:
                found.append(Finding(result[0], result[1], text))
        for kind, what in _code_findings(raw.stmt, source, managed):
            found.append(Finding(kind, what, text))
    return found


def _code_findings(statement, source: str, managed: set[str]) -> list[tuple[str, str]]:
    """What the procedural code of a ``DO`` block or a function body does to enum types.

    Its plain statements are judged like any other; statements it builds at run time
    (``EXECUTE``) cannot be, so they are a finding of their own.
    """
    if isinstance(statement, ast.DoStmt):
        options, where, language = statement.args, "in a DO block", "plpgsql"
    elif isinstance(statement, ast.CreateFunctionStmt):
        kind = "procedure" if statement.is_procedure else "function"
        options, language = statement.options, "sql"
        where = f"in the body of {kind} {'.'.join(n.sval for n in statement.funcname)}"
    else:
        return []
    body = None
    for option in options or ():
        if option.defname == "language":
            language = option.arg.sval.lower()
        elif option.defname == "as":
            body = option.arg
    if body is None or language in _LINKED_LANGUAGES:
        return []  # no body (BEGIN ATOMIC is parsed with the statement), or compiled code
    if language == "sql":
        texts = [item.sval for item in body] if isinstance(body, tuple | list) else [body.sval]
        return [
            (finding.kind, f"{finding.what} {where}")
            for text in texts
            for finding in findings(text, managed)
        ]
    if language != "plpgsql":
        return [(DYNAMIC, f"runs {language} code {where}, whose effect cannot be verified")]
    try:
        tree = parse_plpgsql(source)
    except ParseError as error:
        return [(UNPARSABLE, f"cannot be parsed ({error})")]
    found, dynamic = [], False
    for key, value in _plpgsql_nodes(tree):
        if key in _DYNAMIC_STATEMENTS or (isinstance(value, dict) and _DYNAMIC_QUERY in value):
            dynamic = True
        elif key == "PLpgSQL_expr" and value.get("parseMode", 0) == _STATEMENT_PARSE_MODE:
            found += [
                (finding.kind, f"{finding.what} {where}")
                for finding in findings(value["query"], managed)
            ]
    if dynamic:
        found.append(
            (DYNAMIC, f"builds statements at run time (EXECUTE) {where}, whose effect cannot "
             "be verified")
        )
    return found


def _plpgsql_nodes(tree) -> Iterator[tuple[str, object]]:
    """``(node type, node)`` for every node of a PL/pgSQL parse tree (``parse_plpgsql``)."""
    if isinstance(tree, list):
        for item in tree:
            yield from _plpgsql_nodes(item)
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield key, value
            yield from _plpgsql_nodes(value)


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
