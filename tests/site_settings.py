"""The project's own settings, as ``manage.py`` gets them with nothing set, on the test database.

For processes that must see the production default (``DEBUG`` and ``SECRET_KEY`` taken from
their environment only, no test defaults) without touching the site's database.
"""

import os

from betintel.settings import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["BETINTEL_TEST_DATABASE"]  # noqa: F405
