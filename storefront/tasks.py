from celery import shared_task

from storefront.submissions import form_submissions_prune


@shared_task
def prune_form_submissions() -> int:
    return form_submissions_prune()
