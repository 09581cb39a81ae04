"""Web views of the enum engine: ``GET /api/enums/`` (the "Enum status" page is in ``admin``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from . import conf
from .declared import DeclaredType
from .report import code_types


@require_safe
def enums_api(request: HttpRequest) -> JsonResponse:
    """Each enum type's values that new writes may use; staff also see the others.

    Everyone (anonymous users too) gets the values a client may send: active ones and flagged
    ones whose flag is on, with their labels. Active staff users also get deprecated and
    flag-off values, each value's state and the feature flags that are on. The answer comes
    from the code, which is what validates writes, so it costs no database query.
    """
    staff = bool(request.user.is_active and request.user.is_staff)
    flags = conf.feature_flags()
    payload: dict = {
        "enums": {
            name: {"values": _values(code, flags, staff)}
            for name, code in sorted(code_types().items())
        }
    }
    if staff:
        payload["feature_flags"] = sorted(flags)
    response = JsonResponse(payload)
    # The answer depends on who is logged in: caches must keep the two views apart.
    patch_vary_headers(response, ["Cookie"])
    return response


def _values(code: DeclaredType, flags: frozenset[str], staff: bool) -> list[dict]:
    values = []
    for member in code.members:
        writable = member.writable(flags)
        if not (writable or staff):
            continue
        entry: dict = {"value": member.value, "label": member.label}
        if staff:
            entry.update(
                state=member.state,
                writable=writable,
                flag=member.flag,
                flag_on=(member.flag in flags) if member.flag else None,
                replacement=member.replacement,
            )
        values.append(entry)
    return values
