"""Reads about providers for the operator's screens: each a fixed number of queries."""

from datetime import timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from panels.models import Provider, ProviderCall, SyncRun


def _last_sync(kind: str, field: str) -> Subquery:
    runs = SyncRun.objects.filter(provider=OuterRef("pk"), kind=kind, finished_at__isnull=False)
    return Subquery(runs.order_by("-started_at").values(field)[:1])


def _last_ok_sync(kind: str) -> Subquery:
    runs = SyncRun.objects.filter(provider=OuterRef("pk"), kind=kind, ok=True)
    return Subquery(runs.order_by("-finished_at").values("finished_at")[:1])


def _calls_since(since, *, failed: bool) -> Subquery:
    calls = ProviderCall.objects.filter(provider=OuterRef("pk"), created_at__gte=since)
    if failed:
        calls = calls.exclude(outcome=ProviderCall.Outcome.OK)
    counted = calls.order_by().values("provider").annotate(n=Count("pk")).values("n")
    return Subquery(counted)


def _syncs() -> dict[str, Subquery]:
    """Per kind of sync: when the last run finished, whether it worked and its error
    (``last_catalogue_sync_at``, ``last_catalogue_sync_ok``, ``last_catalogue_sync_error``, and so on)."""
    annotations = {}
    for kind in SyncRun.Kind.values:
        annotations[f"last_{kind}_sync_at"] = _last_sync(kind, "finished_at")
        annotations[f"last_{kind}_sync_ok"] = _last_sync(kind, "ok")
        annotations[f"last_{kind}_sync_error"] = _last_sync(kind, "error")
    return annotations


def providers_with_vitals(*, window: timedelta = timedelta(hours=24)) -> QuerySet[Provider]:
    """Providers annotated with what the dashboard and the operator alerts judge them by: the calls of the
    recent window (``recent_calls``, ``recent_failed_calls``) and when each kind of sync last worked
    (``last_ok_catalogue_sync``, and so on)."""
    since = timezone.now() - window
    return Provider.objects.annotate(
        recent_calls=_calls_since(since, failed=False),
        recent_failed_calls=_calls_since(since, failed=True),
        **{f"last_ok_{kind}_sync": _last_ok_sync(kind) for kind in SyncRun.Kind.values},
    )


def providers_with_health(*, window: timedelta = timedelta(hours=24)) -> QuerySet[Provider]:
    """``providers_with_vitals`` with, for the providers' list, their active services and each kind of sync's
    last run (see ``_syncs``)."""
    return providers_with_vitals(window=window).annotate(
        active_services=Count("services", filter=Q(services__active=True), distinct=True), **_syncs()
    )
