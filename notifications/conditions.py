"""The conditions the periodic check alerts operators of, each read with a few cheap queries: providers'
balances, error rates and late syncs, the workers' heartbeat, the review queue."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from console.heartbeat import heartbeats
from console.selectors import review_counts, sync_states
from notifications.kinds import OperatorKind as K
from notifications.operators import _admin_link, operator_alert, operator_settings
from panels.selectors import providers_with_vitals

# A provider's error rate is judged over its calls of this window.
ERRORS_WINDOW = timedelta(hours=1)
CHECKING_SINCE = "notifications:checking-since"


def _checked_long_enough(now) -> bool:
    """Whether these checks have run for three heartbeat intervals: a heartbeat never recorded is news only
    then — at a panel's start, the first check may come before the first heartbeat."""
    since = cache.get_or_set(CHECKING_SINCE, now.isoformat(), timeout=None)
    grace = timedelta(seconds=3 * settings.HEARTBEAT_SECONDS)
    return now - datetime.fromisoformat(since) > grace


def operator_conditions_check(*, now=None) -> list[str]:
    """Raise an alert for each alarming condition now (the quiet periods hold back repeats). Returns the
    kinds and subjects raised, for the task's log."""
    now = now or timezone.now()
    config = operator_settings()
    raised = []

    def alert(kind: str, subject: str, text: str) -> None:
        operator_alert(kind=kind, subject=subject, text=text, now=now)
        raised.append(f"{kind}:{subject}")

    for provider in providers_with_vitals(window=ERRORS_WINDOW).filter(enabled=True).order_by("name"):
        link = _admin_link("admin:panels_provider_change", provider.pk)
        subject = f"provider:{provider.pk}"
        if provider.is_low_balance:
            alert(
                K.PROVIDER_BALANCE_LOW,
                subject,
                f"Provider {provider}'s balance is {provider.balance:f} {provider.currency}, below its "
                f"threshold of {provider.low_balance_threshold:f}: top it up before orders wait." + link,
            )
        calls, failed = provider.recent_calls or 0, provider.recent_failed_calls or 0
        if failed >= config.error_min_calls and failed * 100 >= config.error_rate_percent * calls:
            alert(
                K.PROVIDER_ERRORS,
                subject,
                f"Provider {provider}: {failed} of its {calls} calls in the last hour failed "
                f"({failed * 100 // calls}%)." + link,
            )
        for state in sync_states(provider, now=now):
            if state.late:
                last = state.last_ok.strftime("%Y-%m-%d %H:%M UTC") if state.last_ok else "never"
                alert(
                    K.SYNC_LATE,
                    f"{subject}:{state.kind}",
                    f"Provider {provider}: the {state.kind} sync is late (last worked: {last})." + link,
                )
    for heartbeat in heartbeats():
        if heartbeat.stale and (heartbeat.last is not None or _checked_long_enough(now)):
            last = heartbeat.last.strftime("%Y-%m-%d %H:%M UTC") if heartbeat.last else "never"
            alert(
                K.HEARTBEAT_STALE,
                heartbeat.side,
                f"The {heartbeat.side} worker's heartbeat is stale (last: {last}): check that the "
                f"{heartbeat.side} worker and the scheduler run." + _admin_link("console:dashboard"),
            )
    orders, refills = review_counts()
    if orders + refills >= config.review_queue_threshold:
        alert(
            K.REVIEW_QUEUE,
            "queue",
            f"{orders} orders and {refills} refills wait for an operator in the review queue."
            + _admin_link("console:review"),
        )
    return raised
