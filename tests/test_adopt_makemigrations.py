"""makemigrations and migrate when a character field becomes an ``EnumField`` and back, and for
unmanaged models (SPEC §4b), through the real commands.

The code side is ``tests.adoptapp.models``: ``Listing.market`` and ``Listing.tags`` use
``adoptapp_market_enum``, ``Listing.region`` is a ``CharField``, and the unmanaged ``Ledger``
uses ``adoptapp_ledger_status_enum``. Each test gives ``adoptapp`` a temporary migration module
holding an older state; files are written under ``tmp_path`` only.
"""

from __future__ import annotations

import importlib

import pytest
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.migrations import operations as ops

from betintel.enums import EnumField
from betintel.enums.conversion import ConvertFromEnumField, ConvertToEnumField
from betintel.enums.operations import CreateEnumType, DropEnumType
from tests.helpers import (
    catalog_snapshot,
    run_command,
    run_sql,
    temporary_migration_module,
    written_migrations,
)

MARKET = ["h2h", "spreads", "totals"]
REGION = ["eu", "us"]
REGION_CHOICES = [("eu", "Europe"), ("us", "United States")]
LEDGER = ["open", "settled", "void"]


@pytest.fixture
def adoptapp(settings):
    # Through pytest-django's settings fixture, so that its later MIGRATION_MODULES override is
    # undone together with this one, in order.
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.adoptapp"]


def _listing(market=None, tags=None, region=None):
    market = market or models.CharField(
        max_length=20, choices=[(v, v) for v in MARKET], db_index=True
    )
    tags = tags or ArrayField(models.CharField(max_length=20, choices=[(v, v) for v in MARKET]),
                              default=list)
    region = region or models.CharField(max_length=10, choices=REGION_CHOICES,
                                        db_index=True)
    fields = [("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                         verbose_name="ID")),
              ("market", market), ("tags", tags), ("region", region)]
    return ops.CreateModel("Listing", fields)


def _enum(type_name, values, **options):
    return EnumField(type_name=type_name, values=values, **options)


def _ledger(values=LEDGER):
    fields = [("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                         verbose_name="ID")),
              ("status", _enum("adoptapp_ledger_status_enum", values))]
    return ops.CreateModel("Ledger", fields,
                           options={"managed": False, "db_table": "adoptapp_ledger"})


def _region_was_enum() -> list:
    """An initial state in which ``region`` is still an ``EnumField`` of its own type."""
    return [
        CreateEnumType("adoptapp_market_enum", MARKET),
        CreateEnumType("adoptapp_region_enum", REGION),
        _listing(market=_enum("adoptapp_market_enum", MARKET, db_index=True),
                 tags=ArrayField(_enum("adoptapp_market_enum", MARKET), default=list),
                 region=_enum("adoptapp_region_enum", REGION, db_index=True)),
        _ledger(),
    ]


def _makemigrations(*args):
    return run_command("makemigrations", "adoptapp", *args, interactive=False)


def _only_written(tmp_path, package) -> str:
    (text,) = written_migrations(tmp_path, package).values()
    return text


def _all_written(tmp_path, package) -> str:
    """The text of every migration makemigrations wrote into ``package``, in order."""
    return "\n".join(written_migrations(tmp_path, package).values())


def _written_classes(tmp_path, package) -> list:
    """The ``Migration`` classes makemigrations wrote into ``package``, in order."""
    return [
        importlib.import_module(f"{package}.{name.removesuffix('.py')}").Migration
        for name in written_migrations(tmp_path, package)
    ]


def _key(migration) -> tuple[str, str]:
    """How other migrations name ``migration`` in their ``dependencies``."""
    return "adoptapp", migration.__module__.rpartition(".")[2]


def _kinds(migration) -> list[type]:
    return [type(operation) for operation in migration.operations]


def _column_type(column: str) -> str:
    ((kind,),) = run_sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                         "attrelid = 'adoptapp_listing'::regclass AND attname = %s",
                         params=[column])
    return kind


@pytest.mark.django_db
def test_char_fields_become_enum__create_type_then_conversions(tmp_path, settings, adoptapp):
    package = temporary_migration_module(tmp_path, settings, "adoptapp",
                                         [_listing(), _ledger()])
    out, err, code = _makemigrations()
    assert code == 0, err
    text = _all_written(tmp_path, package)
    create = text.index("CreateEnumType(")
    market = text.index("ConvertToEnumField(\n            model_name='listing',\n"
                        "            name='market'")
    tags = text.index("name='tags'")
    assert create < market and create < tags
    assert text.count("CreateEnumType(") == 1 and "name='adoptapp_market_enum'" in text
    assert "values=['h2h', 'spreads', 'totals']" in text
    assert text.count("ConvertToEnumField(") == 2 and "AlterField" not in text
    assert "import betintel.enums.conversion" in text
    assert "Convert field market on listing to enum type adoptapp_market_enum" in out
    assert "No changes detected" in _makemigrations()[0]


@pytest.mark.django_db
def test_enum_field_becomes_char__conversion_then_drop_type(tmp_path, settings, adoptapp):
    package = temporary_migration_module(tmp_path, settings, "adoptapp", _region_was_enum())
    out, err, code = _makemigrations()
    assert code == 0, err
    text = _all_written(tmp_path, package)
    assert text.index("ConvertFromEnumField(") < text.index("DropEnumType(")
    assert "name='region'" in text and "max_length=10" in text
    assert "name='adoptapp_region_enum'" in text and "values=['eu', 'us']" in text
    assert "adoptapp_market_enum" not in text and "ledger" not in text.lower()


@pytest.mark.django_db
def test_unmanaged_model__its_type_never_created_changed_or_dropped(tmp_path, settings, adoptapp):
    package = temporary_migration_module(
        tmp_path, settings, "adoptapp",
        [CreateEnumType("adoptapp_market_enum", MARKET),
         _listing(market=_enum("adoptapp_market_enum", MARKET, db_index=True),
                  tags=ArrayField(_enum("adoptapp_market_enum", MARKET), default=list))],
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    text = _only_written(tmp_path, package)
    assert "name='Ledger'" in text and "'managed': False" in text
    assert "adoptapp_ledger_status_enum'" in text  # the field, as plain data
    assert "CreateEnumType" not in text
    # The unmanaged model's type then changes in the migrations' state: still nothing written.
    package = temporary_migration_module(
        tmp_path, settings, "adoptapp",
        [CreateEnumType("adoptapp_market_enum", MARKET),
         _listing(market=_enum("adoptapp_market_enum", MARKET, db_index=True),
                  tags=ArrayField(_enum("adoptapp_market_enum", MARKET), default=list)),
         _ledger(values=["open", "void", "closed"])],
    )
    assert "No changes detected" in _makemigrations()[0]
    assert written_migrations(tmp_path, package) == {}


@pytest.mark.django_db(transaction=True)
def test_migrate__stray_values__command_error_names_them_nothing_changed(
    tmp_path, settings, adoptapp
):
    package = temporary_migration_module(tmp_path, settings, "adoptapp", [_listing()])
    try:
        assert run_command("migrate", "adoptapp", verbosity=0)[2] == 0
        run_sql("INSERT INTO adoptapp_listing (market, tags, region) VALUES "
                "(%s, %s, 'eu'), (%s, %s, 'us'), (%s, %s, 'us'), (%s, %s, 'eu')",
                params=["h2h", ["spreads"], "", [], "h2h ", [], "totals", ["h2h"]])
        _out, err, code = _makemigrations()
        assert code == 0, err
        # The type comes first, in a migration of its own; the conversion is refused after it.
        create_type = next(iter(written_migrations(tmp_path, package))).removesuffix(".py")
        assert run_command("migrate", "adoptapp", create_type, verbosity=0)[2] == 0
        before = catalog_snapshot()
        _out, err, code = run_command("migrate", "adoptapp", verbosity=0)
        assert code != 0
        assert "'' (1 row)" in err and "'h2h ' (1 row)" in err
        assert "data migration" in err and "Nothing was changed" in err
        assert "is not recorded as applied" in err
        assert catalog_snapshot() == before
        # Mapped, the same migration goes through and keeps every row.
        run_sql("UPDATE adoptapp_listing SET market = 'h2h' WHERE market IN ('', 'h2h ')")
        _out, err, code = run_command("migrate", "adoptapp", verbosity=0)
        assert code == 0, err
        rows = run_sql("SELECT market::text, tags::text[] FROM adoptapp_listing ORDER BY id")
        assert rows == [("h2h", ["spreads"]), ("h2h", []), ("h2h", []), ("totals", ["h2h"])]
        _out, err, code = run_command("migrate", "adoptapp", "0001", verbosity=0)
        assert code == 0, err
        assert run_sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                       "attrelid = 'adoptapp_listing'::regclass AND attname = 'market'") == [
            ("character varying(20)",)]
        assert run_sql("SELECT 1 FROM pg_type WHERE typname = 'adoptapp_market_enum'") == []
    finally:
        run_command("migrate", "adoptapp", "zero", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_sqlmigrate__conversion_statements_shown_nothing_changed(tmp_path, settings, adoptapp):
    package = temporary_migration_module(tmp_path, settings, "adoptapp", [_listing()])
    try:
        assert run_command("migrate", "adoptapp", verbosity=0)[2] == 0
        assert _makemigrations()[2] == 0
        before = catalog_snapshot()
        out = ""
        for name in written_migrations(tmp_path, package):
            shown, err, code = run_command("sqlmigrate", "adoptapp", name.removesuffix(".py"))
            assert code == 0, err
            out += shown
        assert catalog_snapshot() == before
        assert 'CREATE TYPE "adoptapp_market_enum" AS ENUM' in out
        assert 'LOCK TABLE "public"."adoptapp_listing" IN ACCESS EXCLUSIVE MODE' in out
        assert 'DROP INDEX "public"."adoptapp_listing_market_' in out  # the _like index
        assert ('ALTER COLUMN "market" TYPE "adoptapp_market_enum" USING '
                '("market"::text)::"adoptapp_market_enum"') in out
        assert ('ALTER COLUMN "tags" TYPE "adoptapp_market_enum"[] USING '
                '("tags"::text[])::"adoptapp_market_enum"[]') in out
    finally:
        run_command("migrate", "adoptapp", "zero", verbosity=0)


@pytest.mark.django_db
def test_char_field_becomes_enum_of_a_type_gaining_a_value__conversion_in_the_next_migration(
    tmp_path, settings, adoptapp
):
    package = temporary_migration_module(
        tmp_path, settings, "adoptapp",
        [CreateEnumType("adoptapp_market_enum", ["h2h", "spreads"]),
         _listing(tags=ArrayField(_enum("adoptapp_market_enum", ["h2h", "spreads"]),
                                  default=list))],
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    first, *later = written_migrations(tmp_path, package).values()
    second = "\n".join(later)
    # PostgreSQL refuses a value added in the same transaction (the rows cast to it).
    assert "AddEnumValue(" in first and "value='totals'" in first
    assert "ConvertToEnumField" not in first
    assert "ConvertToEnumField(" in second and "name='market'" in second
    assert "AddEnumValue" not in second


# Each conversion can run online (SPEC §4a/§4b) only outside a transaction, so makemigrations
# writes it into a non-atomic migration of its own; what it needs comes in an earlier one.


@pytest.mark.django_db(transaction=True)
def test_char_fields_become_enum__each_conversion_in_a_non_atomic_migration_of_its_own(
    tmp_path, settings, adoptapp
):
    package = temporary_migration_module(tmp_path, settings, "adoptapp",
                                         [_listing(), _ledger()])
    try:
        assert run_command("migrate", "adoptapp", verbosity=0)[2] == 0
        run_sql("INSERT INTO adoptapp_listing (market, tags, region) VALUES "
                "(%s, %s, 'eu'), (%s, %s, 'us')",
                params=["h2h", ["spreads", "totals"], "totals", []])
        _out, err, code = _makemigrations()
        assert code == 0, err
        create, market, tags = _written_classes(tmp_path, package)
        assert _kinds(create) == [CreateEnumType] and create.atomic
        assert _kinds(market) == [ConvertToEnumField] and market.atomic is False
        assert market.operations[0].name == "market"
        assert _kinds(tags) == [ConvertToEnumField] and tags.atomic is False
        assert tags.operations[0].name == "tags"
        assert ("adoptapp", "0001_initial") in create.dependencies
        assert _key(create) in market.dependencies
        assert _key(market) in tags.dependencies
        _out, err, code = run_command("migrate", "adoptapp", verbosity=0)
        assert code == 0, err
        assert _column_type("market") == "adoptapp_market_enum"
        assert _column_type("tags") == "adoptapp_market_enum[]"
        rows = run_sql("SELECT market::text, tags::text[] FROM adoptapp_listing ORDER BY id")
        assert rows == [("h2h", ["spreads", "totals"]), ("totals", [])]
    finally:
        run_command("migrate", "adoptapp", "zero", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_enum_field_becomes_char__conversion_non_atomic_on_its_own_then_drop_type(
    tmp_path, settings, adoptapp
):
    package = temporary_migration_module(tmp_path, settings, "adoptapp", _region_was_enum())
    try:
        assert run_command("migrate", "adoptapp", verbosity=0)[2] == 0
        run_sql("INSERT INTO adoptapp_listing (market, tags, region) VALUES "
                "('h2h', %s, 'us'), ('totals', %s, 'eu')", params=[["h2h"], []])
        _out, err, code = _makemigrations()
        assert code == 0, err
        convert, drop = _written_classes(tmp_path, package)
        assert _kinds(convert) == [ConvertFromEnumField] and convert.atomic is False
        assert _kinds(drop) == [DropEnumType] and drop.atomic
        assert _key(convert) in drop.dependencies
        _out, err, code = run_command("migrate", "adoptapp", verbosity=0)
        assert code == 0, err
        assert _column_type("region") == "character varying(10)"
        assert run_sql("SELECT region FROM adoptapp_listing ORDER BY id") == [("us",), ("eu",)]
        assert run_sql("SELECT 1 FROM pg_type WHERE typname = 'adoptapp_region_enum'") == []
    finally:
        run_command("migrate", "adoptapp", "zero", verbosity=0)


@pytest.mark.django_db
def test_conversion_beside_an_added_field__both_kept_in_order_only_the_conversion_non_atomic(
    tmp_path, settings, adoptapp
):
    listing = _listing()
    listing.fields = [(name, field) for name, field in listing.fields if name != "tags"]
    package = temporary_migration_module(tmp_path, settings, "adoptapp", [listing, _ledger()])
    _out, err, code = _makemigrations()
    assert code == 0, err
    added, convert = _written_classes(tmp_path, package)
    assert _kinds(added) == [CreateEnumType, ops.AddField]
    assert added.operations[1].name == "tags"
    assert added.atomic
    assert _kinds(convert) == [ConvertToEnumField] and convert.atomic is False
    assert _key(added) in convert.dependencies
    assert "No changes detected" in _makemigrations()[0]


@pytest.mark.django_db
def test_only_a_conversion__one_non_atomic_migration(tmp_path, settings, adoptapp):
    package = temporary_migration_module(
        tmp_path, settings, "adoptapp",
        [CreateEnumType("adoptapp_market_enum", MARKET),
         _listing(tags=ArrayField(_enum("adoptapp_market_enum", MARKET), default=list)),
         _ledger()],
    )
    _out, err, code = _makemigrations()
    assert code == 0, err
    (convert,) = _written_classes(tmp_path, package)
    assert _kinds(convert) == [ConvertToEnumField] and convert.atomic is False
    assert "\n    atomic = False\n" in _only_written(tmp_path, package)
