"""Admin support: the "Enum status" page, rows per enum value as a table and a bar chart, and
counts that stay fast.

The engine registers one entry, "Enum status", on the project's admin site: installing the app
is enough for the admin index to link to the report, with the project's ``urls.py`` untouched.
Every ``list_filter`` on an ``EnumField`` uses ``EnumFieldListFilter``; domain apps opt in with
``EnumAdminMixin`` (stored values the code does not know shown marked) and ``EnumCountsMixin``
on their own ``ModelAdmin``; big tables are never counted in full on a page load.

Public (``__all__``): the mixins, ``EnumFieldListFilter``, ``EstimatedCountPaginator`` (a
change list's paginator that estimates big counts) and ``EnumStatus``/``EnumStatusAdmin`` for
registering the page on another admin site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.apps.registry import Apps
from django.contrib import admin
from django.contrib.admin import ChoicesFieldListFilter, FieldListFilter, ShowFacets
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.functional import cached_property
from django.utils.text import capfirst

from . import conf, introspection
from .choices import MemberState
from .counts import AUTO, MODES, planner_rows
from .fields import EnumField
from .report import ValueReport, build_report, field_report
from .validation import unknown_label

__all__ = [
    "EnumAdminMixin",
    "EnumCountsMixin",
    "EnumFieldListFilter",
    "EnumStatus",
    "EnumStatusAdmin",
    "EstimatedCountPaginator",
]

# Geometry of the server-rendered SVG chart, in its own user units (it scales to the page).
CHART_WIDTH = 480
LABEL_WIDTH = 115
BAR_AREA = 200
ROW_HEIGHT = 26
BAR_HEIGHT = 18


class EstimatedCountPaginator(Paginator):
    """Counts exactly only small results; big ones take the planner's estimate (``EXPLAIN``).

    Django's admin counts every change list with ``COUNT(*)``, a full scan of a table with
    millions of rows on every page load. Above ``conf.exact_count_limit()`` rows the page
    total is an estimate instead, and ``estimated`` says so.
    """

    estimated = False

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            estimate = planner_rows(self.object_list)
            if estimate is not None and estimate >= conf.exact_count_limit():
                self.estimated = True
                return estimate
        return super().count


@dataclass
class Bar:
    """One value in the chart and its table row."""

    value: ValueReport
    width: float
    y: int

    @property
    def display_rows(self) -> str:
        return self.value.rows_display

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 5

    @property
    def css_state(self) -> str:
        if not self.value.in_code:
            return MemberState.UNKNOWN
        if self.value.state == MemberState.FLAGGED:
            return "flag-on" if self.value.flag_on else "flag-off"
        return self.value.state


@dataclass
class ValueChart:
    """Rows per value of one enum field, ready for ``admin/enums/value_chart.html``."""

    title: str
    type_name: str
    columns: list[str]
    bars: list[Bar]
    estimated: bool
    total: int | None
    height: int
    label_width: int = LABEL_WIDTH
    chart_width: int = CHART_WIDTH
    bar_area: int = BAR_AREA
    bar_height: int = BAR_HEIGHT

    @property
    def count_x(self) -> int:
        return self.label_width + self.bar_area + 6

    @property
    def total_display(self) -> str:
        if self.total is None:
            return "unknown"
        return f"{'≈ ' if self.estimated else ''}{self.total:,}"


def value_chart(model, field_name: str, using: str | None = None) -> ValueChart:
    """Every value of the field's enum type (zero counts included) with its rows and state."""
    using = using or router.db_for_read(model)
    report = field_report(model, field_name, using=using)
    values = report.values
    known = [value.rows for value in values if value.rows is not None]
    largest = max(known, default=0) or 1
    bars = [
        Bar(value, BAR_AREA * (value.rows or 0) / largest, index * ROW_HEIGHT + 4)
        for index, value in enumerate(values)
    ]
    opts = model._meta
    verbose = opts.get_field(field_name).verbose_name
    return ValueChart(
        title=capfirst(f"{opts.verbose_name_plural} per {verbose}"),
        type_name=report.type,
        columns=report.columns,
        bars=bars,
        estimated=report.any_estimated,
        total=sum(known) if len(known) == len(values) else None,
        height=len(values) * ROW_HEIGHT + 8,
    )


class EnumFieldListFilter(ChoicesFieldListFilter):
    """The choices of the code, then the labels of the database the code does not know.

    During a rolling deploy a newer release may have added a value already held by rows: it is
    offered too, marked unknown, so that its rows can be found.
    """

    def choices(self, changelist):
        yield from super().choices(changelist)
        using = router.db_for_read(self.field.model)
        database = introspection.enum_type(connections[using], self.field.enum_type_name)
        known = {str(key) for key, _label in self.field.flatchoices}
        for value in database.values if database else ():
            if value in known:
                continue
            yield {
                "selected": self.lookup_val is not None and value in self.lookup_val,
                "query_string": changelist.get_query_string(
                    {self.lookup_kwarg: value}, [self.lookup_kwarg_isnull]
                ),
                "display": unknown_label(value),
            }


FieldListFilter.register(
    lambda field: isinstance(field, EnumField), EnumFieldListFilter, take_priority=True
)


def enum_column(field: EnumField) -> Callable:
    """A ``list_display`` column showing ``field``'s label, or its value marked unknown."""

    def column(obj) -> str | None:
        value = getattr(obj, field.attname)
        return None if value in field.empty_values else field.display(value)

    column.__name__ = field.name  # the column's CSS class stays field-<name>
    column.short_description = field.verbose_name
    column.admin_order_field = field.name
    return column


class EnumAdminMixin:
    """``ModelAdmin`` mixin: enum columns of the change list show values the code does not
    know (added by a newer release) as they are, marked unknown, instead of an empty cell."""

    def get_list_display(self, request):
        columns = []
        for name in super().get_list_display(request):
            field = _model_field(self.model, name) if isinstance(name, str) else None
            columns.append(enum_column(field) if isinstance(field, EnumField) else name)
        return columns


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:  # a method, an attribute or a lookup path: not a plain field
        return None


class EnumCountsMixin(EnumAdminMixin):
    """``ModelAdmin`` mixin: the change list shows rows per value of ``enum_count_fields``.

    Also keeps the change list fast on big tables: no second ``COUNT(*)`` of the whole table
    (``show_full_result_count``) and an estimating paginator.
    """

    enum_count_fields: tuple[str, ...] = ()
    change_list_template = "admin/enums/change_list.html"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Filter facets count every choice with a scan of the table; the chart answers that.
    show_facets = ShowFacets.NEVER

    def changelist_view(self, request, extra_context=None):
        charts = [value_chart(self.model, name) for name in self.enum_count_fields]
        context = {
            **(extra_context or {}),
            "enum_charts": charts,
            "enum_exact_count_limit": f"{conf.exact_count_limit():,}",
        }
        return super().changelist_view(request, extra_context=context)


class EnumStatus(models.Model):
    """The admin's "Enum status" entry: a name for the admin index to list, never a table.

    The admin lists and routes registered models only, so the report page is one. It lives in a
    registry of its own, not the project's: no migration, content type or permission is ever
    made for it, and no query touches it.
    """

    class Meta:
        apps = Apps(installed_apps=())
        app_label = "enums"
        managed = False
        verbose_name = verbose_name_plural = "Enum status"


class EnumStatusAdmin(admin.ModelAdmin):
    """The ``enum_status`` report as an admin page, for every active staff user.

    Its one URL is the change list's (``admin:enums_enumstatus_changelist``), under whichever
    admin site it is registered with; the engine registers it with the project's default site.
    """

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    # The site's admin_view already admits active staff users only; the report reads no
    # model's rows, so it asks for no permission beyond that.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        counts = request.GET.get("counts", AUTO)
        if counts not in MODES:
            counts = AUTO
        report = build_report(DEFAULT_DB_ALIAS, counts)
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "Enum status",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "app_verbose_name": apps.get_app_config(self.opts.app_label).verbose_name,
            "report": report,
            "counts": counts,
            "count_modes": MODES,
            "exact_count_limit": f"{conf.exact_count_limit():,}",
            "feature_flags": sorted(report.feature_flags),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/enums/status.html", context)


# Only where the project has an admin: other modules import the mixins above without one.
if apps.is_installed("django.contrib.admin"):
    admin.site.register(EnumStatus, EnumStatusAdmin)
