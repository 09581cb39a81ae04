"""Settings for ``manage.py`` run as a real subprocess by a test (``tests.processes``).

They are the suite's own (``tests.settings``, or ``tests.engine_settings`` when the engine's
tests run alone, named by ``BETINTEL_TEST_BASE_SETTINGS``) on the test database. Any settings
the test overrides (``MIGRATION_MODULES`` pointing into a temporary folder, enum settings) come
from the environment the test gives the process.
"""

import importlib
import json
import os

_base = importlib.import_module(os.environ.get("BETINTEL_TEST_BASE_SETTINGS", "tests.settings"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

DATABASES["default"]["NAME"] = os.environ["BETINTEL_TEST_DATABASE"]  # noqa: F821
for _name, _value in json.loads(os.environ.get("BETINTEL_TEST_SETTINGS", "{}")).items():
    globals()[_name] = _value
