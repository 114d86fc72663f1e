from django.contrib import admin
from django.urls import path

admin.site.site_header = "Reseller panel — operator console"
admin.site.site_title = "Reseller panel"

urlpatterns = [
    path("admin/", admin.site.urls),
]
