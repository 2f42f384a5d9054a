from django.contrib import admin
from django.urls import path

from flux import health, views
from flux.api import CurrentProjectView

admin.site.site_header = "Flux administration"
admin.site.site_title = "Flux"

urlpatterns = [
    path("", views.home, name="home"),
    path("health", health.live, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("api/v1/project", CurrentProjectView.as_view(), name="api-project"),
    path("admin/", admin.site.urls),
]
