"""Reads about money for the operator's screens."""

from billing.models import TopUp


def manual_topups_waiting() -> int:
    """Manual payments an operator has to approve or reject."""
    return TopUp.objects.filter(method=TopUp.Method.MANUAL, status=TopUp.Status.PENDING).count()


def topups_taken_back() -> int:
    """Deposits a processor took back (a refund there, a dispute): the balance may be overdrawn."""
    return TopUp.objects.filter(status=TopUp.Status.REVERSED).count()
