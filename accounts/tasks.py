from celery import shared_task
from django.contrib.auth.forms import PasswordResetForm

from accounts.mail import account_mail_allowed
from accounts.sign_up import sign_ups_unconfirmed_prune


@shared_task
def prune_unconfirmed_sign_ups() -> int:
    return sign_ups_unconfirmed_prune()


@shared_task
def password_reset_mail(*, email: str, domain: str, use_https: bool) -> None:
    """The mail of a password reset asked on the site (accounts.forms.QueuedPasswordResetForm), if the address
    is an account's: Django's own form, run here, looks it up and sends the link."""
    form = PasswordResetForm({"email": email})
    if form.is_valid() and account_mail_allowed(email):
        form.save(domain_override=domain, use_https=use_https)
