"""The online plan: what an online swap (or conversion) does to each table, read from the
catalog, and the reasons it cannot run online (``OnlinePlan.reasons``; the package doc lists
them). Planned again while the type is held (``plan_held``), and once more under the switch's
locks, to refuse a switch when the tables changed (``shape``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import introspection
from ..errors import RefusedChange
from ..introspection import Default, Dependents, Table, type_dependents
from ..introspection import online as catalog
from ..old_types import marker
from .names import PREFIX, STATE_KEY, fit, new_type_name, old_type_name, trigger_name


@dataclass
class ShadowColumn:
    """An enum column and the shadow column of the new type that replaces it."""

    name: str
    attnum: int
    array: bool
    not_null: bool
    comment: str | None

    @property
    def shadow(self) -> str:
        return fit(f"{PREFIX}{self.attnum}_{self.name}")

    @property
    def proof(self) -> str:
        """The helper CHECK proving every row has its shadow value."""
        return f"{PREFIX}{'nn' if self.not_null else 'ok'}_{self.attnum}"


@dataclass
class IndexCopy:
    """An index to build again on the shadow columns (and, if any, its unique constraint)."""

    oid: int
    schema: str
    name: str
    definition: str
    comment: str | None
    constraint: str | None = None
    constraint_comment: str | None = None

    @property
    def copy(self) -> str:
        return f"{PREFIX}ix_{self.oid}"


@dataclass
class CheckCopy:
    """A CHECK constraint to add again on the shadow columns."""

    oid: int
    name: str
    definition: str
    validated: bool
    comment: str | None

    @property
    def copy(self) -> str:
        return f"{PREFIX}ck_{self.oid}"


@dataclass
class OnlineTable:
    """What the online swap does to one table."""

    table: Table
    key: list[tuple[str, str]] = field(default_factory=list)
    columns: list[ShadowColumn] = field(default_factory=list)
    defaults: list[tuple[str, Default]] = field(default_factory=list)
    indexes: list[IndexCopy] = field(default_factory=list)
    checks: list[CheckCopy] = field(default_factory=list)

    @property
    def renames(self) -> dict[str, str]:
        return {column.name: column.shadow for column in self.columns}


@dataclass
class OnlinePlan:
    """The online swap of one type; ``reasons`` say why it cannot run online (if any)."""

    type_name: str
    type_oid: int
    schema: str
    value: str
    replacement: str | None
    values: list[str]
    comment: str | None
    owner: str | None
    tables: list[OnlineTable]
    reasons: list[str] = field(default_factory=list)
    #: The old type's values when the plan read them (the type held).
    old_values: list[str] = field(default_factory=list)

    @property
    def new_type(self) -> str:
        return new_type_name(self.type_oid)

    @property
    def old_type(self) -> str:
        return old_type_name(self.type_oid)

    def record(self, step: str, keys: dict | None = None) -> dict:
        return {"type": self.type_name, "value": self.value, "replacement": self.replacement,
                "step": step, "keys": keys or {}}

    def state(self, step: str, keys: dict | None = None) -> str:
        """The state recorded in the new type's comment."""
        return json.dumps({introspection.COMMENT_KEY: {STATE_KEY: self.record(step, keys)}},
                          sort_keys=True)

    def old_type_comment(self) -> str:
        """The old type's comment from the switch to its drop: the marker ``old_types`` reads,
        and the state (at the switch), which ``under_way`` reads."""
        return marker(self.type_name, self.old_values, {STATE_KEY: self.record("switch")})


def plan_swap(connection, blocking, dependents: Dependents) -> OnlinePlan:
    """The online plan matching the blocking ``SwapPlan`` ``blocking`` of the same type."""
    existing = introspection.enum_type(connection, blocking.type_name)
    schema, array_oid = catalog.type_array(connection, existing.oid)
    online = OnlinePlan(
        type_name=blocking.type_name, type_oid=existing.oid, schema=schema,
        value=blocking.value, replacement=blocking.replacement, values=list(blocking.values),
        comment=blocking.comment, owner=blocking.owner, tables=[],
        old_values=list(blocking.old_values),
    )
    for key in dependents.foreign_keys:
        online.reasons.append(
            f"foreign key {key.name} on table {key.schema}.{key.table} joins columns of the type"
        )
    tables = {oid: OnlineTable(info) for oid, info in dependents.tables.items()}
    for column in dependents.columns:
        tables[column.table_oid].columns.append(
            ShadowColumn(column.name, column.attnum, column.array, False, None)
        )
    for table in tables.values():
        complete_table(connection, online, table, [existing.oid, array_oid])
        _plan_defaults(online, table, dependents)
    online.tables = sorted(tables.values(), key=lambda t: (t.table.schema, t.table.name))
    return online


def complete_table(connection, online: OnlinePlan, table: OnlineTable, types: list[int],
                   sync_trigger: str | None = None) -> None:
    """Fill in ``table`` from the catalog (its columns named), and what the online path cannot
    carry into ``online.reasons``; ``types`` are the oids an index or CHECK may name."""
    where = f"table {table.table}"
    relkind, inherits = catalog.table_kind(connection, table.table.oid)
    if relkind == "p":
        online.reasons.append(f"{where} is partitioned")
    elif inherits:
        online.reasons.append(f"{where} has inheritance parents or children")
    for column in table.columns:
        column.not_null, column.comment, acl = catalog.column_details(
            connection, table.table.oid, column.attnum)
        if acl:
            online.reasons.append(f"column {column.name} of {where} has column privileges")
    if table.columns:
        _plan_key(connection, online, table)
        _refuse_triggers(connection, online, table,
                         sync_trigger or trigger_name(online.type_oid))
    _plan_indexes(connection, online, table, types)
    attnums = [column.attnum for column in table.columns]
    table.checks = [CheckCopy(*row) for row in catalog.checks_on(connection, table.table.oid,
                                                                   attnums, types)]


def _plan_key(connection, online: OnlinePlan, table: OnlineTable) -> None:
    """The key the backfill walks: the first unique not-null key without an enum column."""
    attnums = {column.attnum for column in table.columns}
    for _primary, key_attnums, names, types_of, not_null in catalog.unique_keys(
        connection, table.table.oid
    ):
        if not_null and not set(key_attnums) & attnums:
            table.key = list(zip(names, types_of, strict=True))
            return
    online.reasons.append(f"table {table.table} has no primary key or unique not-null key "
                          "without an enum column")


def _refuse_triggers(connection, online: OnlinePlan, table: OnlineTable,
                     sync_trigger: str) -> None:
    where = f"table {table.table}"
    for name, on_update in catalog.conflicting_triggers(connection, table.table.oid,
                                                        sync_trigger):
        name = name if name.startswith("rule ") else f"trigger {name}"
        online.reasons.append(
            f"{name} on {where} acts on UPDATE, which the backfill does to every row"
            if on_update else f"{name} on {where} would run after the copy's trigger"
        )
    attnums = [column.attnum for column in table.columns]
    for name in catalog.statistics_on(connection, table.table.oid, attnums):
        online.reasons.append(f"extended statistics {name} on {where} use an enum column")


def _plan_indexes(connection, online: OnlinePlan, table: OnlineTable, types: list[int]) -> None:
    where = f"table {table.table}"
    attnums = [column.attnum for column in table.columns]
    for oid, schema, name, definition, comment, contype, conname, concomment, deferrable in (
        catalog.indexes_on(connection, table.table.oid, attnums, types)
    ):
        if contype == "p":
            online.reasons.append(f"the primary key {conname} of {where} uses an enum column")
        elif contype == "x":
            online.reasons.append(f"exclusion constraint {conname} on {where} uses the type")
        elif contype == "u" and deferrable:
            online.reasons.append(f"unique constraint {conname} on {where} is deferrable")
        table.indexes.append(IndexCopy(oid, schema, name, definition, comment,
                                       conname if contype == "u" else None, concomment))


def _plan_defaults(online: OnlinePlan, table: OnlineTable, dependents: Dependents) -> None:
    for default in dependents.defaults:
        if default.table_oid == table.table.oid:
            if default.inherited:
                online.reasons.append(
                    f"column {default.column} of table {table.table} is inherited")
            table.defaults.append((default.column, default))


def plan_held(connection, online: OnlinePlan) -> OnlinePlan:
    """``online`` planned again from the catalog (call it while the type is held)."""
    from ..swap import plan_removal  # here: the swap package imports online

    existing = introspection.enum_type(connection, online.type_name)
    dependents = type_dependents(connection, online.type_name)
    blocking = plan_removal(connection, existing, online.value, online.replacement, dependents)
    fresh = plan_swap(connection, blocking, dependents)
    if dependents.blockers or fresh.reasons:
        raise RefusedChange(
            f"Enum type {online.type_name} changed while its online swap was being planned "
            f"({'; '.join(dependents.blockers + fresh.reasons)}), so the swap did not start. "
            "Nothing was changed. Run migrate again."
        )
    return fresh


def shape(online: OnlinePlan) -> list:
    """What the switch relies on, per table: columns, indexes, CHECKs and defaults."""
    return [
        (table.table.oid, [c.name for c in table.columns], [i.oid for i in table.indexes],
         [c.oid for c in table.checks], [column for column, _ in table.defaults])
        for table in online.tables
    ]
