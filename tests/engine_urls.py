"""URLs of the engine's test settings: the admin (with its "Enum status" page) and the API."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("betintel.enums.urls")),
]
