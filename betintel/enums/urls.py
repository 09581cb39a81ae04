"""URLs of the enum engine: ``api/enums/`` and the admin's "Enum status" page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("api/enums/", views.enums_api, name="enums-api"),
]

#: Mount before ``admin.site.urls``, under the admin's prefix.
admin_urlpatterns = [
    path("enums/status/", admin.site.admin_view(views.enum_status), name="enum-status"),
]
