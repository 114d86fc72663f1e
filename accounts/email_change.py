"""Changing a customer's email: it changes when the new address follows a link, and the settings page never
says whether another account uses that address (that address's owner gets a "someone tried" mail instead)."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.mail import account_mail
from accounts.services import email_owner

_SALT = "accounts.email_change"


def email_change_request(*, user, email: str, base_url: str) -> None:
    """Mail the new address a link (or, if another account has it, a note to that account)."""
    if email.lower() == user.email.lower():
        return
    holder = email_owner(email, other_than=user)
    if holder is None:
        token = signing.dumps({"user": user.pk, "email": email, "old": user.email}, salt=_SALT)
        link = base_url + reverse("accounts:email-confirm", args=[token])
        account_mail(
            to=email,
            subject=_("Confirm your new email"),
            template="email_change_confirm.txt",
            context={"user": user, "link": link},
        )
    else:
        account_mail(
            to=holder.email,
            subject=_("Someone tried to use your email"),
            template="email_change_taken.txt",
            context={"user": holder, "site": base_url},
        )


def email_change_pending(*, user, token: str) -> str | None:
    """The new address this link confirms for ``user``, or ``None`` (wrong, old, used, or someone else's)."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:
        return None
    if data.get("user") != user.pk or data.get("old") != user.email:
        return None
    return data["email"]


def email_change_confirm(*, user, email: str) -> bool:
    """False if another account took the address meanwhile."""
    with transaction.atomic():
        if email_owner(email, other_than=user) is not None:
            return False
        user.email = email
        user.save(update_fields=["email"])
    return True
