"""The project's URLs plus Django's stock admin for bets, on a throwaway site, for comparison."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from betintel.urls import urlpatterns as project_urlpatterns
from bets.models import Bet

plain_site = admin.AdminSite(name="plain_admin")
plain_site.register(Bet, admin.ModelAdmin)

urlpatterns = [path("plain-admin/", plain_site.urls), *project_urlpatterns]
