"""URLs of the enum engine: ``api/enums/`` (``enums:api``).

A project that wants the API includes them: ``path("", include("betintel.enums.urls"))``. The
admin's "Enum status" page needs no URL of the project's: it comes with ``admin.site.urls``.
"""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "enums"

urlpatterns = [
    path("api/enums/", views.enums_api, name="api"),
]
