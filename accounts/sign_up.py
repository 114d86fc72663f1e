"""Signing up on the storefront without telling anyone whether an email is registered.

Every accepted sign-up form gets the same answer: "check your inbox". A new email gets an account that waits
for the link in that mail (it cannot log in until then); an email already registered gets no second account,
and its owner gets a mail saying someone tried to sign up, with a link to choose a new password. Only the
owner of the mailbox learns which case it was. Both cases write the same waiting sign-up (the one for a
registered email can never be confirmed), so the username it holds — "already taken" to the next sign-up —
does not tell them apart either.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.mail import account_mail
from accounts.models import Profile
from accounts.services import email_owner, profile_for
from billing.services import account_for
from referrals.services import referral_record


class SignUpTokenGenerator(PasswordResetTokenGenerator):
    """Links valid for PASSWORD_RESET_TIMEOUT, once: confirming activates the user, which changes the hash."""

    key_salt = "accounts.sign_up.SignUpTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


sign_up_tokens = SignUpTokenGenerator()


def sign_up_request(
    *,
    username: str,
    email: str,
    password: str,
    timezone: str,
    base_url: str,
    language: str = "en",
    referral_code: str = "",
) -> None:
    """Answer a valid sign-up form; the caller shows the same page whatever happened here. ``language``: the
    one the visitor reads the site in, kept as theirs. ``referral_code``: the referral link the visitor came
    through (its cookie), recorded as who referred them."""
    User = get_user_model()
    with transaction.atomic():
        registered = email_owner(email)
        # Someone signed up with this email before and never confirmed: only the mailbox's owner can
        # confirm either, so the newer sign-up replaces the older.
        waiting = User.objects.filter(is_active=False, profile__awaiting_confirmation=True)
        waiting.filter(email__iexact=email).delete()
        # Written for a registered email too (no link is mailed for it, and sign_up_confirm refuses an email
        # another account has): the username is then held the same way whichever case it is.
        user = User.objects.create_user(username=username, email=email, password=password, is_active=False)
        Profile.objects.create(user=user, timezone=timezone, language=language, awaiting_confirmation=True)
        if referral_code:
            referral_record(referred=user, code=referral_code)
    if registered is None:
        link = reverse("accounts:sign-up-confirm", args=[_uid(user), sign_up_tokens.make_token(user)])
        _mail(user, _("Confirm your email"), "sign_up_confirm.txt", {"link": base_url + link})
    else:
        # A disabled account gets no reset link (its password cannot be reset); the mail says to ask us.
        reset = registered.is_active and reverse(
            "password_reset_confirm", args=[_uid(registered), default_token_generator.make_token(registered)]
        )
        context = {"reset_link": base_url + reset if reset else "", "site": base_url}
        with translation.override(profile_for(registered).language):  # the mailbox owner's, not the visitor's
            subject = _("Someone tried to sign up with your email")
            _mail(registered, subject, "sign_up_registered.txt", context)


def sign_up_pending(*, uidb64: str, token: str):
    """The account waiting for this confirmation link, or ``None`` (a wrong, used or expired link)."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = (
        get_user_model().objects.filter(pk=pk, is_active=False, profile__awaiting_confirmation=True).first()
    )
    if user is None or not sign_up_tokens.check_token(user, token):
        return None
    return user


def sign_up_confirm(*, user) -> bool:
    """The email is confirmed: the account can log in, with an empty balance. False if another account
    took the email meanwhile (two sign-ups racing): that one stays, this one waits to be pruned."""
    with transaction.atomic():
        if email_owner(user.email, other_than=user) is not None:
            return False
        user.is_active = True
        user.save(update_fields=["is_active"])
        Profile.objects.filter(user=user).update(awaiting_confirmation=False)
        account_for(user)
    return True


def sign_ups_unconfirmed_prune() -> int:
    """Sign-ups whose link expired free their username again."""
    cutoff = django_timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    User = get_user_model()
    deleted = User.objects.filter(
        is_active=False, profile__awaiting_confirmation=True, date_joined__lt=cutoff
    ).delete()[1]
    return deleted.get(User._meta.label, 0)


def _uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def _mail(user, subject: str, template: str, context: dict) -> None:
    account_mail(to=user.email, subject=subject, template=template, context={"user": user, **context})
