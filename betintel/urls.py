from django.contrib import admin
from django.urls import include, path

from betintel.enums.urls import admin_urlpatterns

urlpatterns = [
    path("admin/", include(admin_urlpatterns)),
    path("admin/", admin.site.urls),
    path("", include("betintel.enums.urls")),
]
