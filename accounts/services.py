"""Customer accounts: signing up and their own settings."""

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Profile
from billing.services import account_for


def customer_sign_up(*, username: str, email: str, password: str, timezone: str = "UTC"):
    """A new customer with an empty balance and their profile, in one transaction."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        Profile.objects.create(user=user, timezone=timezone)
        account_for(user)
    return user


def profile_for(user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def account_settings_update(*, user, email: str, timezone: str) -> None:
    with transaction.atomic():
        user.email = email
        user.save(update_fields=["email"])
        Profile.objects.update_or_create(user=user, defaults={"timezone": timezone})


def customers_disable(*, users) -> int:
    """They can no longer log in, and their API keys stop working at once."""
    from api.models import ApiKey
    from api.services import api_keys_revoke

    with transaction.atomic():
        count = users.filter(is_active=True).update(is_active=False)
        api_keys_revoke(ApiKey.objects.filter(user__in=users))
    return count


def customers_enable(*, users) -> int:
    return users.filter(is_active=False).update(is_active=True)
