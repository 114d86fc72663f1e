"""Customer accounts: signing up and their own settings."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Profile
from audit.services import audit_records
from billing.services import account_for


def customer_sign_up(*, username: str, email: str, password: str, timezone: str = "UTC"):
    """A new customer with an empty balance and their profile, in one transaction."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        Profile.objects.create(user=user, timezone=timezone)
        account_for(user)
    return user


def email_owner(email: str, *, other_than=None):
    """The account that uses ``email`` (a sign-up still waiting for its link does not count), or ``None``."""
    users = (
        get_user_model()
        .objects.filter(email__iexact=email)
        .exclude(is_active=False, profile__awaiting_confirmation=True)
    )
    if other_than is not None:
        users = users.exclude(pk=other_than.pk)
    return users.order_by("pk").first()


def profile_for(user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def account_settings_update(
    *, user, timezone: str, language: str | None = None, display_currency: str | None = None
) -> None:
    """A new email goes through accounts.email_change: it changes once the new address follows a link.
    ``language`` and ``display_currency`` None: unchanged (a form without them, from an older page)."""
    defaults = {"timezone": timezone} | ({"language": language} if language else {})
    if display_currency is not None:
        # The panel's own currency is stored as none chosen: it follows PANEL_CURRENCY.
        defaults["display_currency"] = "" if display_currency == settings.PANEL_CURRENCY else display_currency
    Profile.objects.update_or_create(user=user, defaults=defaults)


def account_language_set(*, user, language: str) -> None:
    Profile.objects.update_or_create(user=user, defaults={"language": language})


def customers_disable(*, users, actor=None) -> int:
    """They can no longer log in, and their API keys stop working at once."""
    from api.models import ApiKey
    from api.services import api_keys_revoke

    with transaction.atomic():
        active = list(_locked(users).filter(is_active=True))
        count = _set_active(active, False, actor=actor, verb="disable")
        api_keys_revoke(
            ApiKey.objects.filter(user__in=users), actor=actor, reason="The customer was disabled."
        )
    return count


def customers_enable(*, users, actor=None) -> int:
    """Disabled accounts log in again; a sign-up waiting for its link is not one (its link confirms it)."""
    with transaction.atomic():
        disabled = list(_locked(users).filter(is_active=False).exclude(profile__awaiting_confirmation=True))
        return _set_active(disabled, True, actor=actor, verb="enable")


def _locked(users):
    """``users`` locked (the admin's list is annotated with counts, which a lock cannot be taken with)."""
    return get_user_model().objects.select_for_update(of=("self",)).filter(pk__in=users.values("pk"))


def _set_active(users: list, active: bool, *, actor, verb: str) -> int:
    from api.services import live_keys

    count = get_user_model().objects.filter(pk__in=[user.pk for user in users]).update(is_active=active)
    live_keys.forget()  # an update sends no post_save: the cached keys carry their user
    audit_records(
        actor=actor, verb=verb, changed=[(user, {"is_active": [not active, active]}) for user in users]
    )
    return count
