"""The suite's two runs: the site's (``tests.settings``) and the engine's alone.

``python -m pytest -m "not site" --ds=tests.engine_settings`` runs the engine's tests without
`audit/` and `bets/`; ``tests/conftest.py`` says which tests belong to the site.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from tests.conftest import ENGINE_SETTINGS, ENGINE_TESTS, SITE_TESTS
from tests.processes import run_manage

TESTS = Path(__file__).resolve().parent
SITE_APPS = ("audit", "bets")


def test_every_test_module__classified_once_as_site_or_engine():
    modules = {path.name for path in TESTS.glob("test_*.py")}
    whole_site = {entry for entry in SITE_TESTS if "::" not in entry}

    assert sorted(modules - whole_site - ENGINE_TESTS) == [], (
        "Name each new test module in tests/conftest.py: SITE_TESTS when it needs `audit/`, "
        "`bets/` or betintel's settings, ENGINE_TESTS when the engine alone is enough."
    )
    assert sorted(whole_site & ENGINE_TESTS) == []
    assert sorted((whole_site | ENGINE_TESTS) - modules) == []


def test_single_site_tests__name_existing_tests_of_engine_modules():
    for entry in sorted(entry for entry in SITE_TESTS if "::" in entry):
        module, name = entry.split("::")
        assert module in ENGINE_TESTS, entry
        assert f"def {name}(" in (TESTS / module).read_text(), entry


@pytest.mark.engine_alone
def test_engine_settings__audit_and_bets_neither_installed_nor_imported():
    assert settings.SETTINGS_MODULE == ENGINE_SETTINGS
    assert "betintel.enums" in settings.INSTALLED_APPS
    for label in SITE_APPS:
        assert not apps.is_installed(label)
        # Collection has imported every test module of this run by now.
        assert not [name for name in sys.modules if name.partition(".")[0] == label]


@pytest.mark.django_db
def test_manage_processes__run_with_the_suites_own_installed_apps():
    done = run_manage("shell", "--no-imports", "-c",
                      "import json; from django.conf import settings; "
                      "print(json.dumps(settings.INSTALLED_APPS))")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == list(settings.INSTALLED_APPS)
