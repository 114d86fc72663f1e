import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

from accounts.two_factor import two_factor_enabled, two_factor_required


class CustomerTimezoneMiddleware:
    """Show times in the signed-in customer's own time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        profile = getattr(request.user, "profile", None) if request.user.is_authenticated else None
        if profile is not None:
            timezone.activate(zoneinfo.ZoneInfo(profile.timezone))
        else:
            timezone.deactivate()
        return self.get_response(request)


# API v2 and the REST API are protocols: their statuses and errors are English whoever calls (the storefront's
# page documenting them, /api/, is a page like the others). The operator console is not translated: English
# throughout rather than Django's own admin words in one language and the console's in another.
ENGLISH_ONLY_PATHS = ("/api/v2", "/api/v1/", "/admin/")


class CustomerLanguageMiddleware:
    """Show pages in the signed-in customer's own language (after Django's LocaleMiddleware, which chose the
    cookie's or the browser's for everyone, and after AuthenticationMiddleware, which tells who asks)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(ENGLISH_ONLY_PATHS):
            translation.activate(settings.LANGUAGE_CODE)
        elif request.user.is_authenticated:
            language = getattr(getattr(request.user, "profile", None), "language", "")
            if translation.check_for_language(language):
                translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class TwoFactorMiddleware:
    """Signed-in sessions follow the two-factor rules (after django-otp's OTPMiddleware).

    - A session of a user with two-factor on that never passed the code step (it started before two-factor
      was turned on in another session) is signed out.
    - An Owner who must have two-factor and has not set it up reaches only its setup page and log out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified():
            if two_factor_enabled(user):
                logout(request)
                return redirect_to_login(request.get_full_path())
            if two_factor_required(user) and not self._allowed_before_setup(request.path):
                setup = reverse("accounts:two-factor-setup")
                return redirect(f"{setup}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _allowed_before_setup(path: str) -> bool:
        return path in (reverse("accounts:two-factor-setup"), reverse("logout")) or path.startswith(
            settings.STATIC_URL
        )
