"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from betintel.startup import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betintel.settings")

# Production without a real SECRET_KEY stops here, before anything is served.
require_secret_key()
application = get_asgi_application()
