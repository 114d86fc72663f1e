"""One submission of a form acts at most once.

Every form that places or pays carries a random token made when it is rendered (``{% submission_field %}``).
``submit_once`` records the token and runs the action in one transaction; a second POST with the same token
(a double click, a resubmitted page, two tabs) gets the first POST's outcome instead of acting again. The
unique constraint on ``FormSubmission`` is the guarantee, not a check before the write: a concurrent repeat
waits on the first's row and then reads it. A refused action rolls the token back with everything else, so
the corrected form can be sent again.
"""

import re
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront.models import FormSubmission

TOKEN_FIELD = "submission"  # noqa: S105 (a field name, not a secret)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def submission_token_new() -> str:
    return secrets.token_urlsafe(24)


def submit_once(
    *, user, token: str, form: str, act: Callable[[], dict], done: Callable[[dict], bool] = bool
) -> tuple[dict, bool]:
    """Run ``act`` (which returns a JSON-able outcome) once for ``token``. Returns the outcome and whether
    this call acted (False: an earlier POST of the same form did, and this is its outcome).

    Raises ``ValidationError`` for a missing or malformed token, and whatever ``act`` raises (then nothing
    is written, the token included). An outcome that ``done`` says did nothing (every line of a mass order
    refused) is returned without keeping the token either."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("This form was not sent whole: reload the page and send it again.")}
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission = FormSubmission.objects.create(user=user, token=token, form=form)
        except IntegrityError:
            first = FormSubmission.objects.get(user=user, token=token)
            if first.form != form:
                raise ValidationError(
                    {NON_FIELD_ERRORS: _("This form was already sent: reload the page.")}
                ) from None
            return first.outcome, False
        outcome = act()
        if not done(outcome):
            transaction.set_rollback(True)
            return outcome, True
        submission.outcome = outcome
        submission.save(update_fields=["outcome"])
    return outcome, True


def form_submissions_prune(*, now=None) -> int:
    """Forget tokens older than ``FORM_SUBMISSION_DAYS``: a page that old sent again acts as a new form."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FORM_SUBMISSION_DAYS)
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
