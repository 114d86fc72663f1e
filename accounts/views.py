from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import SettingsForm, SignUpForm
from accounts.services import account_settings_update, customer_sign_up, profile_for


@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("storefront:dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = customer_sign_up(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            timezone=form.cleaned_data["timezone"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Add funds to place your first order."))
        return redirect("storefront:dashboard")
    return render(request, "registration/sign_up.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    profile = profile_for(request.user)
    form = SettingsForm(
        request.POST or None,
        user=request.user,
        initial={"email": request.user.email, "timezone": profile.timezone},
    )
    if request.method == "POST" and form.is_valid():
        account_settings_update(
            user=request.user, email=form.cleaned_data["email"], timezone=form.cleaned_data["timezone"]
        )
        messages.success(request, _("Your settings are saved."))
        return redirect("accounts:settings")
    return render(request, "registration/settings.html", {"form": form})
