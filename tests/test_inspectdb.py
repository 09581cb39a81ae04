"""``inspectdb`` on enum types made by SQL, and unmanaged models in ``enum_status`` (SPEC §4b).

Tables and types are made by raw SQL, as another migration tool would; the generated module is
written under ``tmp_path``, compiled, and its models read the rows.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import isolate_apps

from betintel.enums import EnumField
from betintel.enums.choices_source import class_name, member_names, readable_label
from betintel.enums.report import build_report
from tests.helpers import catalog_snapshot, run_command, run_sql, unique_name

pytestmark = pytest.mark.django_db(transaction=True)

ODD = ["player points", "over-under", "1st half", "Ünïcode", "class", "None", "a b", "a-b",
       "A B", "ﬁle", "file", "_private_", "import"]


@pytest.fixture
def adoptapp(settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.adoptapp"]


def _create_type(name: str, labels: list[str]) -> None:
    from psycopg import sql

    statement = sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
        sql.Identifier(name), sql.SQL(", ").join(map(sql.Literal, labels))
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def _inspect(tmp_path, *tables: str) -> tuple[str, dict]:
    """The inspectdb output for ``tables``, written to a module file and executed as a module
    of ``tests.adoptapp`` (in an isolated app registry); its namespace."""
    out, err, code = run_command("inspectdb", *tables)
    assert code == 0, err
    path = tmp_path / "inspected.py"
    path.write_text(out)
    namespace = {"__name__": "tests.adoptapp.inspected"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return out, namespace


def test_member_names__odd_labels__valid_distinct_identifiers_in_order():
    names = member_names(ODD)
    assert names == ["PLAYER_POINTS", "OVER_UNDER", "V_1ST_HALF", "ÜNÏCODE", "CLASS", "NONE",
                     "A_B", "A_B_2", "A_B_3", "FILE", "FILE_2", "PRIVATE", "IMPORT"]
    assert all(name.isidentifier() for name in names)
    assert member_names(["", " ", "--"]) == ["EMPTY", "VALUE", "VALUE_2"]
    assert readable_label("player_points") == "Player points"
    assert class_name("bet_type_enum") == "BetType"
    assert class_name("market", taken={"Market"}) == "MarketChoices"
    assert class_name("2way") == "Enum2way"


def test_inspectdb__enum_columns__choices_class_and_enum_fields_read_rows(
    tmp_path, scratch_types, adoptapp
):
    kind, first, second = scratch_types("odd"), scratch_types("first"), scratch_types("second")
    _create_type(kind, ODD)
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {} NOT NULL, kinds {}[])",
            first, kind, kind)
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, kind {})", second, kind)
    run_sql("INSERT INTO {} (kind, kinds) VALUES (%s, %s), (%s, NULL)", first,
            params=["Ünïcode", ["class", "1st half"], "a-b"])
    run_sql("INSERT INTO {} (kind) VALUES (%s), (NULL)", second, params=["None"])
    # A new connection learns the enum array types that exist when it opens.
    connection.close()
    with isolate_apps("tests.adoptapp"):
        out, module = _inspect(tmp_path, first, second)
        choices_name = class_name(kind)
        assert out.count(f"class {choices_name}(models.TextChoices):") == 1
        assert "from betintel.enums import EnumField" in out
        assert "from django.contrib.postgres.fields import ArrayField" in out
        assert f"kind = EnumField({choices_name}, type_name={kind!r})" in out
        assert f"kinds = ArrayField(EnumField({choices_name}, type_name={kind!r}), " in out
        assert f"kind = EnumField({choices_name}, type_name={kind!r}, blank=True, null=True)" in out
        choices = module[choices_name]
        assert [member.value for member in choices] == ODD
        assert choices.A_B_2.value == "a-b" and choices.CLASS.label == "Class"
        first_model = next(m for m in module.values()
                           if getattr(getattr(m, "_meta", None), "db_table", None) == first)
        second_model = next(m for m in module.values()
                            if getattr(getattr(m, "_meta", None), "db_table", None) == second)
        field = first_model._meta.get_field("kind")
        assert isinstance(field, EnumField) and field.enum_type_name == kind
        assert field.choices_class is choices
        rows = list(first_model.objects.order_by("id").values_list("kind", "kinds"))
        assert rows == [("Ünïcode", ["class", "1st half"]), ("a-b", None)]
        assert first_model.objects.filter(kind=choices.A_B_2).count() == 1
        assert list(second_model.objects.exclude(kind=None).values_list("kind", flat=True)) == [
            "None"]
        assert not first_model._meta.managed


def test_inspectdb__no_enum_columns__django_output_unchanged(tmp_path, scratch_types, adoptapp):
    table = scratch_types("plain")
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, name varchar(20))", table)
    out, err, code = run_command("inspectdb", table)
    assert code == 0, err
    assert "EnumField" not in out and "ArrayField" not in out
    assert "name = models.CharField(max_length=20, blank=True, null=True)" in out


def test_unmanaged_model__enum_status_compares_it(scratch_types, adoptapp):
    scratch_types("adoptapp_ledger_status_enum")  # cleaned up by name afterwards
    _create_type("adoptapp_ledger_status_enum", ["open", "settled", "void"])
    run_sql("CREATE TABLE adoptapp_ledger (id serial PRIMARY KEY, "
            "status adoptapp_ledger_status_enum NOT NULL)")
    try:
        run_sql("INSERT INTO adoptapp_ledger (status) VALUES ('open'), ('open'), ('void')")
        out, _err, _code = run_command("enum_status", "--json")
        entry = next(e for e in json.loads(out)["enums"]
                     if e["type"] == "adoptapp_ledger_status_enum")
        assert entry["choices"] == "tests.adoptapp.models.LedgerStatus"
        assert entry["columns"] == ["adoptapp_ledger.status"]
        assert {v["value"]: v["rows"] for v in entry["values"]} == {
            "open": 2, "settled": 0, "void": 1}
        assert entry["drift"] == []
        run_sql("ALTER TYPE adoptapp_ledger_status_enum ADD VALUE 'refunded'")
        report = build_report()
        ledger = next(e for e in report.enums if e.type == "adoptapp_ledger_status_enum")
        assert len(ledger.drift) == 1 and "'refunded'" in ledger.drift[0]
    finally:
        run_sql("DROP TABLE adoptapp_ledger")


def test_alembic_database__inspectdb_makemigrations_fake_initial__django_takes_over(
    tmp_path, settings, scratch_types
):
    import sys

    kind, table = scratch_types("market"), scratch_types("legacy")
    _create_type(kind, ["h2h", "spreads", "totals"])
    run_sql("CREATE TABLE {} (id serial PRIMARY KEY, market {} NOT NULL)", table, kind)
    run_sql("INSERT INTO {} (market) VALUES ('h2h'), ('totals')", table)
    out, err, code = run_command("inspectdb", table)
    assert code == 0, err
    package = unique_name("legacy")
    (tmp_path / package / "migrations").mkdir(parents=True)
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "migrations" / "__init__.py").write_text("")
    # Handing the table to Django: the README's step of deleting the managed = False lines.
    (tmp_path / package / "models.py").write_text(out.replace("        managed = False\n", ""))
    sys.path.insert(0, str(tmp_path))
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, package]
    try:
        _out, err, code = run_command("makemigrations", package, interactive=False)
        assert code == 0, err
        initial = (tmp_path / package / "migrations" / "0001_initial.py").read_text()
        assert initial.index("CreateEnumType(") < initial.index("CreateModel(")
        before = catalog_snapshot()
        out, err, code = run_command("migrate", package, "--fake-initial")
        assert code == 0, err
        assert "FAKED" in out
        assert catalog_snapshot() == before
        report = build_report()
        entry = next(e for e in report.enums if e.type == kind)
        assert entry.ok and entry.columns == [f"{table}.market"]
        assert {v.value: v.rows for v in entry.values} == {"h2h": 1, "spreads": 0, "totals": 1}
        assert run_command("makemigrations", package, "--check", "--dry-run")[2] == 0
    finally:
        run_command("migrate", package, "zero", "--fake", verbosity=0)
        sys.path.remove(str(tmp_path))
