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
    """Per kind of sync: when the last run finished, whether it worked and its error, and when one last
    worked (``last_catalogue_sync_at``, ``last_catalogue_sync_ok``, ``last_catalogue_sync_error``,
    ``last_ok_catalogue_sync``, and so on)."""
    annotations = {}
    for kind in SyncRun.Kind.values:
        annotations[f"last_{kind}_sync_at"] = _last_sync(kind, "finished_at")
        annotations[f"last_{kind}_sync_ok"] = _last_sync(kind, "ok")
        annotations[f"last_{kind}_sync_error"] = _last_sync(kind, "error")
        annotations[f"last_ok_{kind}_sync"] = _last_ok_sync(kind)
    return annotations


def providers_with_health(*, window: timedelta = timedelta(hours=24)) -> QuerySet[Provider]:
    """Providers annotated with active services, their syncs (see ``_syncs``) and the calls of the recent
    window."""
    since = timezone.now() - window
    return Provider.objects.annotate(
        active_services=Count("services", filter=Q(services__active=True), distinct=True),
        recent_calls=_calls_since(since, failed=False),
        recent_failed_calls=_calls_since(since, failed=True),
        **_syncs(),
    )
