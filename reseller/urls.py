from django.contrib import admin
from django.urls import include, path

from accounts.views import LoginView, admin_login, password_reset
from api.v2 import api_v2
from referrals.views import referral_link, referrals

admin.site.index_template = "admin/console_index.html"
admin.site.index_title = "Front page"

urlpatterns = [
    path("admin/console/", include("console.urls")),
    # Both login pages ask users with two-factor on for a code after the password.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    # API v2 as providers serve it: clients are configured with ".../api/v2", some add a slash. Answered by
    # api.middleware.ApiV2Middleware before the URLs are read; these name the address and stand behind it.
    path("api/v2", api_v2, name="api-v2"),
    path("api/v2/", api_v2),
    path("api/v1/", include("api.urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/password_reset/", password_reset, name="password_reset"),
    path("accounts/", include("accounts.urls")),
    # Log in and out, password change and reset: Django's views, our templates.
    path("accounts/", include("django.contrib.auth.urls")),
    path("notifications/", include("notifications.urls")),
    path("r/<str:code>/", referral_link, name="referral-link"),
    path("referrals/", referrals, name="referrals"),
    path("support/", include("support.urls")),
    path("", include("webhooks.urls")),
    path("", include("content.urls")),
    path("", include("storefront.urls")),
]
