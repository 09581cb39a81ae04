"""Settings of the audit log, read lazily, each with its default."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac


def has_hmac_key() -> bool:
    """Whether entries can be signed: ``AUDIT_HMAC_KEY`` or ``SECRET_KEY`` is set."""
    if getattr(settings, "AUDIT_HMAC_KEY", ""):
        return True
    try:
        return bool(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        return False


def hmac_key() -> bytes:
    """Key of the entries' chained HMAC (``AUDIT_HMAC_KEY``; default: derived from SECRET_KEY).

    The key never reaches the database: whoever can write the table but does not know the key
    cannot forge a digest. A key derived from ``SECRET_KEY`` changes when that key is rotated,
    so production sets ``AUDIT_HMAC_KEY`` of its own.
    """
    key = getattr(settings, "AUDIT_HMAC_KEY", "") or ""
    if key:
        return key.encode() if isinstance(key, str) else bytes(key)
    if not has_hmac_key():
        raise ImproperlyConfigured(
            "The audit log cannot sign its entries: AUDIT_HMAC_KEY and SECRET_KEY are both "
            "empty. Set SECRET_KEY (and AUDIT_HMAC_KEY) in the environment, or DEBUG=1 for "
            "development."
        )
    return salted_hmac("betintel.audit.chain", "hmac-key", algorithm="sha256").digest()
