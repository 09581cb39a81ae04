"""Web views of the enum engine: the admin's "Enum status" page and ``GET /api/enums/``."""

from __future__ import annotations

from django.contrib import admin
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from . import conf
from .counts import AUTO, MODES
from .report import CodeType, build_report, code_types


def enum_status(request: HttpRequest) -> HttpResponse:
    """The ``enum_status`` report as an admin page; wrap it in ``admin.site.admin_view``."""
    counts = request.GET.get("counts", AUTO)
    if counts not in MODES:
        counts = AUTO
    report = build_report(DEFAULT_DB_ALIAS, counts)
    context = {
        **admin.site.each_context(request),
        "title": "Enum status",
        "report": report,
        "counts": counts,
        "count_modes": MODES,
        "exact_count_limit": f"{conf.exact_count_limit():,}",
        "feature_flags": sorted(report.feature_flags),
    }
    return TemplateResponse(request, "admin/enums/status.html", context)


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


def _values(code: CodeType, flags: frozenset[str], staff: bool) -> list[dict]:
    values = []
    for member in code.values:
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
