from django.urls import path

from content import views
from content.models import Page

app_name = "content"
urlpatterns = [
    path("announcements/<int:pk>/dismiss/", views.announcement_dismiss_view, name="announcement-dismiss"),
    path("brand/style-<str:version>.css", views.brand_stylesheet, name="brand-stylesheet"),
    path("brand/logo-<str:version>", views.brand_logo, name="brand-logo"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("updates/", views.service_updates_page, name="service-updates"),
    # Stable addresses, one per page (reversed as content:terms, content:faq, content:privacy).
    *(path(f"{slug}/", views.page, {"slug": slug}, name=slug) for slug in Page.Slug.values),
]
