"""Reads of what the operator tells customers."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from content.models import Announcement, Page, ServiceUpdate


def announcements_live() -> QuerySet[Announcement]:
    """Announcements within their window now: started, and not ended."""
    now = timezone.now()
    return Announcement.objects.filter(starts_at__lte=now).exclude(ends_at__lte=now)


def announcements_shown(*, user) -> QuerySet[Announcement]:
    """What the dashboard shows ``user``: the live announcements they have not dismissed; visitors not
    signed in see the public ones. Pinned first, then newest first."""
    live = announcements_live()
    if not user.is_authenticated:
        return live.filter(public=True)
    return live.exclude(dismissals__user=user)


@dataclass(frozen=True)
class PageLink:
    url: str
    title: str


def pages_written() -> dict[str, PageLink]:
    """The operator's pages that exist, by slug, in the order of ``Page.Slug``: the footer and the sign-up
    page link only to these (one query)."""
    written = dict(Page.objects.values_list("slug", "title"))
    return {
        slug: PageLink(url=reverse(f"content:{slug}"), title=written[slug])
        for slug in Page.Slug.values
        if slug in written
    }


def service_updates(*, kind: str = "", category: str = "") -> QuerySet[ServiceUpdate]:
    """The service updates page, newest first, filtered by kind and the service's category."""
    updates = ServiceUpdate.objects.select_related("service")
    if kind in ServiceUpdate.Kind.values:
        updates = updates.filter(kind=kind)
    if category:
        updates = updates.filter(service__category=category)
    return updates


def service_update_categories() -> QuerySet:
    """The categories having updates, for the page's filter."""
    return (
        ServiceUpdate.objects.order_by("service__category")
        .values_list("service__category", flat=True)
        .distinct()
    )
