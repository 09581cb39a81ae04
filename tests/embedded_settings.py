"""Settings for ``manage.py`` processes on an embedded server of their own.

``BETINTEL_PGDATA`` names its data directory (a temporary one in tests), so a test can start,
kill and restart processes around a server that nothing else uses.
"""

import os

from betintel.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "betintel.embedded_db",
        "NAME": "betintel",
        "USER": "postgres",
        "OPTIONS": {"pgdata": os.environ["BETINTEL_PGDATA"]},
    }
}
