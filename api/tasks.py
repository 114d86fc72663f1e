from celery import shared_task

from api.services import api_requests_prune


@shared_task
def prune_api_requests() -> int:
    return api_requests_prune()
