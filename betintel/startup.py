"""Refuse to serve in production mode without a real ``SECRET_KEY`` (SPEC §2).

Called by ``wsgi.py`` and ``asgi.py``, which ``runserver`` loads as well: servers stop before
answering a request, while commands that serve nothing (``check``, ``makemigrations``,
``migrate``) still run with nothing set.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Keys with this prefix are public (Django's own marker for generated development keys).
INSECURE_PREFIX = "django-insecure-"

MISSING_KEY = (
    "SECRET_KEY is not set and DEBUG is off (production is the default), so the site refuses "
    "to start. Set SECRET_KEY in the environment to a long random value kept secret, e.g. "
    "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'); or, on a "
    "development machine, ask for development mode with DEBUG=1 "
    "(e.g. DEBUG=1 .venv/bin/python manage.py runserver)."
)
PUBLIC_KEY = (
    "SECRET_KEY is a development key (it starts with 'django-insecure-') and DEBUG is off, so "
    "the site refuses to start. Set SECRET_KEY in the environment to a long random value kept "
    "secret; or, on a development machine, ask for development mode with DEBUG=1."
)


def require_secret_key() -> None:
    """Raise ``ImproperlyConfigured`` when DEBUG is off and ``SECRET_KEY`` is missing or public."""
    if settings.DEBUG:
        return
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to read an empty key
        key = ""
    if not key:
        raise ImproperlyConfigured(MISSING_KEY)
    if key.startswith(INSECURE_PREFIX):
        raise ImproperlyConfigured(PUBLIC_KEY)
