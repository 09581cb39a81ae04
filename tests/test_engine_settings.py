"""Engine settings: one parser each, check errors naming the variable, clear runtime errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db.migrations.state import ProjectState

from betintel.enums import conf
from betintel.enums.checks import check_settings
from betintel.enums.operations import AddEnumValue, CreateEnumType
from tests.helpers import apply_operations, enum_labels
from tests.processes import ROOT, manage_env


@pytest.mark.parametrize(
    ("value", "milliseconds"),
    [("1.5s", 1500), ("500ms", 500), ("2s", 2000), ("1min", 60_000), ("250", 250), (250, 250),
     (" 3 s ", 3000), ("1500us", 2)],
)
def test_lock_timeout__postgres_durations__whole_milliseconds(settings, value, milliseconds):
    settings.ENUM_LOCK_TIMEOUT = value
    assert conf.lock_timeout_ms() == milliseconds
    assert conf.lock_timeout() == f"{milliseconds}ms"
    assert check_settings() == []


def test_settings__defaults_when_unset(settings):
    for name in conf.ACCESSORS:
        if hasattr(settings, name):
            delattr(settings, name)
    assert (conf.lock_timeout(), conf.lock_retries(), conf.exact_count_limit()) == (
        "2000ms", 5, 1_000_000)
    assert (conf.swap_mode(), conf.online_min_rows(), conf.backfill_batch()) == (
        "auto", 100_000, 10_000)


def test_settings__raw_strings_from_the_environment__parsed(settings):
    settings.ENUM_LOCK_RETRIES = "7"
    settings.ENUM_EXACT_COUNT_LIMIT = "2_000_000"
    settings.ENUM_SWAP = "Online"
    settings.ENUM_ONLINE_MIN_ROWS = "500"
    settings.ENUM_BACKFILL_BATCH = "250"
    assert conf.lock_retries() == 7 and conf.exact_count_limit() == 2_000_000
    assert conf.swap_mode() == "online"
    assert conf.online_min_rows() == 500 and conf.backfill_batch() == 250


@pytest.mark.parametrize(
    ("name", "value"),
    [("ENUM_LOCK_TIMEOUT", "1.5 seconds"), ("ENUM_LOCK_TIMEOUT", "soon"),
     ("ENUM_LOCK_TIMEOUT", "-1s"), ("ENUM_LOCK_RETRIES", "five"), ("ENUM_LOCK_RETRIES", "-1"),
     ("ENUM_EXACT_COUNT_LIMIT", "1e6"), ("ENUM_SWAP", "fast"), ("ENUM_ONLINE_MIN_ROWS", "lots"),
     ("ENUM_BACKFILL_BATCH", "0")],
)
def test_check_settings__unparsable__e014_naming_the_variable(settings, name, value):
    setattr(settings, name, value)
    errors = check_settings()
    assert [(error.id, error.obj) for error in errors] == [("enums.E015", name)]
    assert f"{name}={value!r}" in errors[0].msg
    with pytest.raises(conf.SettingError, match=name):
        conf.ACCESSORS[name]()


@pytest.mark.parametrize("value", ["0", 0, "0s", "0ms", "0.1"])
def test_check_settings__lock_timeout_zero__e015_waits_forever(settings, value):
    settings.ENUM_LOCK_TIMEOUT = value
    errors = check_settings()
    assert [(error.id, error.obj) for error in errors] == [("enums.E016", "ENUM_LOCK_TIMEOUT")]
    assert "wait without bound" in errors[0].msg


@pytest.mark.django_db(transaction=True)
def test_add_value__lock_timeout_in_fractional_seconds__applied(scratch_types, settings):
    settings.ENUM_LOCK_TIMEOUT = "1.5s"
    name = scratch_types("kind")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a"]),
                                                 AddEnumValue(name, "b")])
    assert enum_labels(name) == ["a", "b"]


@pytest.mark.django_db(transaction=True)
def test_add_value__lock_timeout_zero__refused_naming_the_setting(scratch_types, settings):
    name = scratch_types("kind")
    apply_operations("enumapp", ProjectState(), [CreateEnumType(name, ["a"])])
    settings.ENUM_LOCK_TIMEOUT = "0"
    with pytest.raises(conf.SettingError, match="ENUM_LOCK_TIMEOUT='0'"):
        apply_operations("enumapp", ProjectState(), [AddEnumValue(name, "b")])
    assert enum_labels(name) == ["a"]


@pytest.mark.django_db
def test_manage_check__unparsable_environment__settings_import_and_check_names_it():
    env = manage_env(ENUM_LOCK_RETRIES="five", ENUM_LOCK_TIMEOUT="0")
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "(enums.E015) ENUM_LOCK_RETRIES='five'" in done.stderr
    assert "(enums.E016) ENUM_LOCK_TIMEOUT='0'" in done.stderr
