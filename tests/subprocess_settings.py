"""Settings for ``manage.py`` run as a real subprocess by a test (``tests.processes``).

The test database, and any settings the test overrides (``MIGRATION_MODULES`` pointing into a
temporary folder, enum settings), come from the environment the test gives the process.
"""

import json
import os

from tests.settings import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["BETINTEL_TEST_DATABASE"]  # noqa: F405
for _name, _value in json.loads(os.environ.get("BETINTEL_TEST_SETTINGS", "{}")).items():
    globals()[_name] = _value
