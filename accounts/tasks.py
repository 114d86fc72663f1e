from celery import shared_task
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation

from accounts.mail import account_mail_allowed
from accounts.services import profile_for
from accounts.sign_up import sign_ups_unconfirmed_prune


@shared_task
def prune_unconfirmed_sign_ups() -> int:
    return sign_ups_unconfirmed_prune()


@shared_task
def password_reset_mail(*, email: str, domain: str, use_https: bool) -> None:
    """The mail of a password reset asked on the site (accounts.forms.QueuedPasswordResetForm), if the address
    is an account's: Django's own form, run here, looks it up and sends the link."""
    form = _RecipientLanguageResetForm({"email": email})
    if form.is_valid() and account_mail_allowed(email):
        form.save(domain_override=domain, use_https=use_https)


class _RecipientLanguageResetForm(PasswordResetForm):
    """Each reset mail in its recipient's language: a worker has no visitor's to go by."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        with translation.override(profile_for(context["user"]).language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)
