from functools import wraps
from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME, login, user_login_failed
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language
from django_otp import login as otp_login

from accounts.email_change import email_change_confirm, email_change_pending, email_change_request
from accounts.forms import (
    CodeForm,
    NotificationsForm,
    QueuedPasswordResetForm,
    SettingsForm,
    SetupCodeForm,
    SignUpForm,
    TwoFactorDisableForm,
)
from accounts.services import account_language_set, account_settings_update, profile_for
from accounts.sign_up import sign_up_confirm, sign_up_pending, sign_up_request
from accounts.two_factor import (
    login_pending_end,
    login_pending_start,
    login_pending_user,
    recovery_codes_left,
    recovery_codes_regenerate,
    totp_qr_svg,
    totp_secret,
    totp_setup_confirm,
    totp_setup_device,
    totp_setup_start,
    two_factor_disable,
    two_factor_enabled,
    two_factor_required,
    two_factor_verify,
)
from notifications.customers import preferences_for, preferences_update
from notifications.kinds import CustomerKind
from referrals.cookie import referral_code_of
from reseller.client_ip import client_limit_key
from reseller.ratelimits import within_rate


def posts_capped_per_client(view):
    """Forms anyone may send, each making the panel write and mail: ``ACCOUNT_FORMS_PER_CLIENT`` posts from
    one address (an IPv6 client's /64) at most; past that a 429 page, and nothing done."""

    @wraps(view)
    def capped(request, *args, **kwargs):
        client = client_limit_key(request) or "unknown"
        if request.method == "POST" and not within_rate(
            settings.ACCOUNT_FORMS_PER_CLIENT, "account-forms", client
        ):
            return render(request, "registration/too_many.html", {"title": _("Try again later")}, status=429)
        return view(request, *args, **kwargs)

    return capped


# The reset mail is sent by a worker, so the answer takes as long for an address that has no account.
password_reset = posts_capped_per_client(
    auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm)
)


@posts_capped_per_client
@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("storefront:dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sign_up_request(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            timezone=form.cleaned_data["timezone"],
            language=request.LANGUAGE_CODE,
            base_url=_base_url(request),
            referral_code=referral_code_of(request),
        )
        return redirect("accounts:sign-up-sent")
    return render(request, "registration/sign_up.html", {"form": form})


@require_POST
def language_switch(request):
    """The header's language switcher: Django's set_language (the cookie, back to the page), and for a
    signed-in customer their profile too, which their pages and mails follow."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        account_language_set(user=request.user, language=language)
    return response


@require_http_methods(["GET"])
def sign_up_sent(request):
    return render(request, "registration/sign_up_sent.html", {"title": _("Check your inbox")})


@require_http_methods(["GET", "POST"])
def sign_up_confirm_page(request, uidb64, token):
    """A button, not the link itself, confirms: mail scanners that open links must not sign anyone in."""
    user = sign_up_pending(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "registration/sign_up_confirm.html", {"valid": False})
    if request.method == "POST":
        if not sign_up_confirm(user=user):
            return render(request, "registration/sign_up_confirm.html", {"valid": False})
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Add funds to place your first order."))
        return redirect("storefront:dashboard")
    return render(request, "registration/sign_up_confirm.html", {"valid": True, "pending": user})


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    profile = profile_for(request.user)
    form = SettingsForm(
        request.POST or None,
        user=request.user,
        initial={
            "email": request.user.email,
            "timezone": profile.timezone,
            "language": profile.language,
            "display_currency": profile.display_currency or settings.PANEL_CURRENCY,
        },
    )
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        account_settings_update(
            user=request.user,
            timezone=form.cleaned_data["timezone"],
            language=form.cleaned_data["language"] or None,
            display_currency=form.cleaned_data["display_currency"] or None,
        )
        messages.success(request, _("Your settings are saved."))
        if email != request.user.email.lower():  # the form gives it in lower case
            email_change_request(user=request.user, email=email, base_url=_base_url(request))
            messages.info(
                request,
                _("To use %(email)s, follow the link in the mail we sent there.") % {"email": email},
            )
        return redirect("accounts:settings")
    return render(request, "registration/settings.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account_notifications(request):
    preferences = preferences_for(request.user)
    initial = {
        "wanted": [kind for kind in CustomerKind.values if preferences.wants(kind)],
        "low_balance_threshold": preferences.low_balance_threshold,
    }
    form = NotificationsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        preferences_update(
            user=request.user,
            wanted=set(form.cleaned_data["wanted"]),
            low_balance_threshold=form.cleaned_data["low_balance_threshold"],
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("accounts:notifications")
    return render(request, "registration/notifications.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def email_confirm(request, token):
    email = email_change_pending(user=request.user, token=token)
    if email is not None and request.method == "POST":
        if email_change_confirm(user=request.user, email=email):
            messages.success(request, _("Your email is now %(email)s.") % {"email": email})
            return redirect("accounts:settings")
        email = None
    return render(request, "registration/email_confirm.html", {"email": email})


def _base_url(request) -> str:
    """This site's address for links in mails, as the visitor reached it."""
    return request.build_absolute_uri("/").rstrip("/")


# --- logging in: the password, then a code for users with two-factor on ----------------------------------


class LoginView(auth_views.LoginView):
    """Django's login; a user with two-factor on is signed in only after the code step."""

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor_enabled(user):
            return super().form_valid(form)
        login_pending_start(self.request, user)
        return redirect(f"{reverse('accounts:login-code')}?{urlencode({'next': self.get_success_url()})}")


def admin_login(request):
    """The admin's login page (its look and staff check), with the same code step as the storefront's."""
    if request.method == "GET" and admin.site.has_permission(request):
        return redirect("admin:index")
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    request.current_app = admin.site.name
    return LoginView.as_view(
        authentication_form=admin.site.login_form, template_name="admin/login.html", extra_context=context
    )(request)


@require_http_methods(["GET", "POST"])
def login_code(request):
    user = login_pending_user(request)
    if user is None:
        messages.info(request, _("Log in again: the code step waits only a few minutes."))
        return redirect("login")
    credentials = {"username": user.get_username()}
    if request.method == "POST" and AxesProxyHandler.is_locked(request, credentials):
        # Locked out while this step waited (wrong codes in another session): no more tries here either.
        login_pending_end(request)
        return get_lockout_response(request, credentials=credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, refusal = two_factor_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            login_pending_end(request)
            login(request, user, backend=user.backend)
            otp_login(request, device)
            return redirect(_safe_next(request, default=settings.LOGIN_REDIRECT_URL))
        # A wrong code is a failed login: django-axes counts it with the wrong passwords, and locks out.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            login_pending_end(request)
        form.add_error("code", refusal)
    return render(request, "registration/login_code.html", {"form": form, "next": _safe_next(request)})


def _safe_next(request, default=""):
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- two-factor settings ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def two_factor(request):
    user = request.user
    return render(
        request,
        "registration/two_factor.html",
        {
            "enabled": two_factor_enabled(user),
            "required": two_factor_required(user),
            "codes_left": recovery_codes_left(user),
            "disable_form": TwoFactorDisableForm(user=user),
        },
    )


@never_cache  # the secret (and then the recovery codes) are on this page: kept in no cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    user = request.user
    if two_factor_enabled(user):
        return redirect("accounts:two-factor")
    device = totp_setup_device(user=user) or totp_setup_start(user=user)
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed, codes = totp_setup_confirm(user=user, code=form.cleaned_data["code"])
        if confirmed is not None:
            otp_login(request, confirmed)
            return render(
                request,
                "registration/recovery_codes.html",
                {"codes": codes, "next": _safe_next(request, default=reverse("accounts:two-factor"))},
            )
        # Wrong, or too soon after a wrong one (each failure doubles the wait, as at login).
        form.add_error(
            "code",
            _("That code is not right: check the time on your phone, wait a moment and try the next one."),
        )
    context = {
        "form": form,
        "qr": totp_qr_svg(device),
        "secret": totp_secret(device),
        "required": two_factor_required(user),
        "next": _safe_next(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


@never_cache  # the codes are shown once
@login_required
@require_POST
def two_factor_recovery_codes(request):
    if not two_factor_enabled(request.user):
        return redirect("accounts:two-factor")
    codes = recovery_codes_regenerate(user=request.user)
    return render(
        request, "registration/recovery_codes.html", {"codes": codes, "next": reverse("accounts:two-factor")}
    )


@login_required
@require_POST
def two_factor_turn_off(request):
    user = request.user
    if two_factor_required(user):
        messages.error(request, _("Two-factor authentication is required for your role."))
        return redirect("accounts:two-factor")
    form = TwoFactorDisableForm(request.POST, user=user)
    if form.is_valid():
        device, refusal = two_factor_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            two_factor_disable(user=user)
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:two-factor")
        form.add_error("code", refusal)
    context = {"enabled": True, "codes_left": recovery_codes_left(user), "disable_form": form}
    return render(request, "registration/two_factor.html", context)
