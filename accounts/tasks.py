from celery import shared_task

from accounts.sign_up import sign_ups_unconfirmed_prune


@shared_task
def prune_unconfirmed_sign_ups() -> int:
    return sign_ups_unconfirmed_prune()
