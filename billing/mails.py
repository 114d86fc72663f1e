"""Mails to customers about their top-ups: credited, rejected, taken back. Plain text and HTML, sent by a
worker after the decision commits (``billing.tasks.topup_mail``), never in the request that decided it."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from billing.models import TopUp

SUBJECTS = {
    TopUp.Status.CREDITED: _("%(amount)s %(currency)s added to your balance"),
    TopUp.Status.REJECTED: _("Your payment of %(amount)s %(currency)s was not accepted"),
    TopUp.Status.REVERSED: _("Your payment of %(amount)s %(currency)s was taken back"),
}


def topup_mail_send(*, topup: TopUp) -> bool:
    """Tell the customer where ``topup`` ended, if it ended in a way they are told of and they have an
    address. Returns whether a mail went."""
    subject = SUBJECTS.get(topup.status)
    if subject is None or not topup.user.email:
        return False
    context = {
        "topup": topup,
        "user": topup.user,
        "funds_url": f"{settings.PANEL_URL}{reverse('storefront:funds')}" if settings.PANEL_URL else "",
    }
    mail = EmailMultiAlternatives(
        str(subject) % {"amount": topup.amount, "currency": topup.currency},
        render_to_string("billing/emails/topup.txt", context),
        to=[topup.user.email],
    )
    mail.attach_alternative(render_to_string("billing/emails/topup.html", context), "text/html")
    mail.send()
    return True
