"""Settings of the audit log, read lazily, each with its default."""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import salted_hmac


def hmac_key() -> bytes:
    """Key of the entries' chained HMAC (``AUDIT_HMAC_KEY``; default: derived from SECRET_KEY).

    The key never reaches the database: whoever can write the table but does not know the key
    cannot forge a digest. A key derived from ``SECRET_KEY`` changes when that key is rotated,
    so production sets ``AUDIT_HMAC_KEY`` of its own.
    """
    key = getattr(settings, "AUDIT_HMAC_KEY", "") or ""
    if key:
        return key.encode() if isinstance(key, str) else bytes(key)
    return salted_hmac("betintel.audit.chain", "hmac-key", algorithm="sha256").digest()
