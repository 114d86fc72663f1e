"""Providers: registering them, talking to them, and their balance.

Everything that writes about a provider goes through here; the admin, the management commands and
the Celery tasks are thin callers.
"""

import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_changes, audit_record, audit_records, audited_values
from panels.client import Balance, CallRecord, ProviderClient, ProviderError, secret_redactor
from panels.health import breaker_record
from panels.models import Provider, ProviderCall, ProviderService, SyncRun
from panels.normalize import BadValue, normalize_api_url
from panels.ratelimit import ProviderBudget

logger = logging.getLogger(__name__)


def provider_upsert(
    *, name: str, api_url: str, api_key: str | None = None, actor=None, **options
) -> tuple[Provider, bool]:
    """Create the provider called ``name``, or update it. Returns ``(provider, created)``.

    ``api_key`` None keeps the stored key, unless the URL changes. ``options`` are other Provider fields.
    The audit row says whether the key changed, never what it is.
    """
    try:
        url = normalize_api_url(api_url)
    except BadValue as error:
        raise ValidationError({"api_url": str(error)}) from None
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(name=name).first()
        created = provider is None
        if created:
            provider = Provider(name=name)
        audited = ["api_url", "api_key", *options]
        before = {} if created else audited_values(provider, audited)
        provider.api_key = provider_key_for(provider=provider, api_url=url, api_key=api_key)
        provider.api_url = url
        for field_name, value in options.items():
            setattr(provider, field_name, value)
        provider.full_clean()
        provider.save()
        changes = audit_changes(before, audited_values(provider, audited))
        if changes or created:
            audit_record(actor=actor, verb="add" if created else "change", target=provider, changes=changes)
    return provider, created


def provider_key_for(*, provider: Provider, api_url: str, api_key: str | None) -> str:
    """The key to store for ``provider`` (as loaded, before any change) at the normalised ``api_url``: the
    one given, else the stored one — but never the stored one at another address, where it would be sent
    to a host that was never given it. A blank ``api_key`` means "keep the stored key"."""
    if api_key and api_key.strip():
        return api_key.strip()
    if provider.pk is None:
        raise ValidationError({"api_key": "A new provider needs an API key."})
    if api_url != provider.api_url:
        message = "The API URL changed: enter the API key again (a stored key is never sent to a new URL)."
        raise ValidationError({"api_key": message})
    return provider.api_key


def provider_services_mark_reviewed(*, services, actor) -> int:
    """Clear the "new" flag of ``services``: the operator has looked at them. Returns how many."""
    with transaction.atomic():
        new = list(
            ProviderService.objects.select_for_update().filter(pk__in=services.values("pk"), is_new=True)
        )
        count = ProviderService.objects.filter(pk__in=[service.pk for service in new]).update(is_new=False)
        audit_records(
            actor=actor,
            verb="mark_reviewed",
            changed=[(service, {"is_new": [True, False]}) for service in new],
        )
    return count


def provider_client(provider: Provider, *, on_call=None, slot_taken: bool = False) -> ProviderClient:
    """A client for ``provider`` within its calls-a-minute budget, writing every call to the call log.

    ``on_call`` replaces the immediate write, e.g. to collect records in a thread and write them later.
    ``slot_taken``: the caller already took the budget's slot for the first attempt (the order dispatcher).
    """
    acquire = ProviderBudget(provider.pk, provider.calls_per_minute).acquire
    if slot_taken:
        acquire = _after_the_first(acquire)
    return ProviderClient(
        provider.api_url,
        provider.api_key,
        connect_timeout=float(provider.connect_timeout),
        read_timeout=float(provider.read_timeout),
        key_header=provider.key_header,
        attempts=settings.PROVIDER_CALL_ATTEMPTS,
        backoff_initial=settings.PROVIDER_RETRY_BACKOFF,
        rate_limiter=acquire,
        on_call=on_call or (lambda record: provider_calls_record(provider=provider, records=[record])),
    )


def _after_the_first(acquire: Callable[[], None]) -> Callable[[], None]:
    attempts = itertools.count()

    def later_attempts() -> None:
        if next(attempts):
            acquire()

    return later_attempts


def provider_calls_record(*, provider: Provider, records: list[CallRecord]) -> None:
    ProviderCall.objects.bulk_create(
        ProviderCall(
            provider=provider,
            action=record.action,
            params=record.params,
            http_status=record.http_status,
            duration_ms=record.duration_ms,
            outcome=record.outcome,
            error=record.error,
            response_excerpt=record.response_excerpt,
        )
        for record in records
    )
    breaker_record(provider=provider, records=records)


def provider_calls_prune(*, older_than: timedelta | None = None) -> int:
    """Delete call-log rows older than the retention period; returns how many went."""
    older_than = older_than or timedelta(days=settings.PROVIDER_CALL_LOG_DAYS)
    cutoff = timezone.now() - older_than
    deleted, _ = ProviderCall.objects.filter(created_at__lt=cutoff).delete()
    # Status syncs run every minute: their records go with the call log.
    SyncRun.objects.filter(kind=SyncRun.Kind.STATUS, started_at__lt=cutoff).delete()
    return deleted


@contextmanager
def sync_run(*, provider: Provider, kind: str) -> Iterator[SyncRun]:
    """One sync, recorded as a ``SyncRun`` that the block closes with ``sync_run_finish`` or
    ``sync_run_fail``. Whatever the block raises closes it as failed with that error (and is raised on), so
    no run stays open: a provider's unreadable answer, a database error, a worker's time limit."""
    run = SyncRun.objects.create(provider=provider, kind=kind)
    try:
        yield run
    except BaseException as error:
        sync_run_fail(run=run, error=error)
        raise
    if run.finished_at is None:
        sync_run_fail(run=run, error=RuntimeError("The sync ended without recording its outcome."))


def sync_run_finish(*, run: SyncRun, summary: str) -> None:
    run.ok, run.summary, run.finished_at = True, summary[:500], timezone.now()
    run.save(update_fields=["ok", "summary", "finished_at"])


def sync_run_fail(*, run: SyncRun, error: ProviderError | Exception) -> None:
    run.ok = False
    # The client already redacts what it raises; an error from anywhere else must not carry the key either.
    run.error = secret_redactor(run.provider.api_key)(str(error) or type(error).__name__)
    run.finished_at = timezone.now()
    run.save(update_fields=["ok", "error", "finished_at"])
    logger.warning("%s failed: %s", run, run.error)


def balance_sync(*, provider: Provider) -> Balance:
    """Ask the provider for our balance there; flag the provider when it falls below its threshold."""
    with sync_run(provider=provider, kind=SyncRun.Kind.BALANCE) as run:
        balance = provider_client(provider).balance()
        was_low = provider.is_low_balance
        now = timezone.now()
        provider.balance = balance.amount
        provider.currency = balance.currency or provider.currency
        provider.balance_checked_at = now
        Provider.objects.filter(pk=provider.pk).update(
            balance=provider.balance, currency=provider.currency, balance_checked_at=now
        )
        summary = f"{balance.amount} {provider.currency}".strip()
        if provider.is_low_balance:
            summary += f" — below the threshold of {provider.low_balance_threshold}"
            if not was_low:
                logger.warning(
                    "Provider %s balance %s %s fell below its threshold %s",
                    provider,
                    balance.amount,
                    provider.currency,
                    provider.low_balance_threshold,
                )
        sync_run_finish(run=run, summary=summary)
    return balance


def provider_test_connection(*, provider: Provider) -> str:
    """A harmless call that proves URL and key work; returns a line for the operator."""
    balance = balance_sync(provider=provider)
    return f"Connected; balance {balance.amount} {balance.currency}".rstrip()
