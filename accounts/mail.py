"""Mails the account forms send (sign-up, email change, password reset), capped per recipient: those forms
are open to anyone, and must not become a way to flood somebody's inbox."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from reseller.ratelimits import within_rate

logger = logging.getLogger(__name__)


def account_mail_allowed(address: str) -> bool:
    """One more account mail to ``address`` within ``ACCOUNT_MAILS_PER_ADDRESS``? Counts it when it is."""
    if within_rate(settings.ACCOUNT_MAILS_PER_ADDRESS, "account-mail", address.strip().lower()):
        return True
    logger.warning("An account mail was held back: too many to one address lately.")
    return False


def account_mail(*, to: str, subject: str, template: str, context: dict) -> None:
    """Render ``registration/emails/<template>`` and send it to ``to``, unless the address had its share."""
    if account_mail_allowed(to):
        send_mail(subject, render_to_string(f"registration/emails/{template}", context), None, [to])
