"""Announcements on the dashboard: shown within their window only, newest first (pinned above), dismissed
per customer by a POST that needs its CSRF token, their Markdown rendered without anything that runs."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from content.models import Announcement, AnnouncementDismissal

pytestmark = pytest.mark.django_db


def announce(title, *, start=timedelta(hours=-1), end=None, **fields):
    now = timezone.now()
    return Announcement.objects.create(
        title=title, starts_at=now + start, ends_at=None if end is None else now + end, **fields
    )


def signed_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def dashboard(client) -> str:
    response = client.get("/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_announcement_shows_within_its_window_only_newest_first_pinned_above(make_customer):
    client = signed_in(make_customer())
    announce("Older news", start=timedelta(days=-3))
    announce("Fresh news", start=timedelta(hours=-2), end=timedelta(days=1))
    announce("Pinned notice", start=timedelta(days=-5), pinned=True)
    announce("Not yet", start=timedelta(hours=1))
    announce("Over", start=timedelta(days=-3), end=timedelta(minutes=-1))

    page = dashboard(client)
    assert "Not yet" not in page and "Over" not in page
    assert page.index("Pinned notice") < page.index("Fresh news") < page.index("Older news")


def test_an_announcement_appears_when_its_time_comes_and_goes_when_it_ends(make_customer):
    client = signed_in(make_customer())
    soon = announce("Maintenance tonight", start=timedelta(hours=-1), end=timedelta(hours=1))
    assert "Maintenance tonight" in dashboard(client)
    Announcement.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert "Maintenance tonight" not in dashboard(client)
    Announcement.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() + timedelta(seconds=30), ends_at=None
    )
    assert "Maintenance tonight" not in dashboard(client)


def test_dismissing_hides_it_for_that_customer_only(make_customer):
    cleo, bob = make_customer("cleo"), make_customer("bob")
    news = announce("New payment method")
    cleos, bobs = signed_in(cleo, enforce_csrf_checks=True), signed_in(bob)
    dashboard(cleos)

    response = cleos.post(
        f"/announcements/{news.pk}/dismiss/", {"csrfmiddlewaretoken": cleos.cookies["csrftoken"].value}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"  # without JavaScript
    assert "New payment method" not in dashboard(cleos)
    assert "New payment method" in dashboard(bobs)


def test_dismissing_needs_the_csrf_token_and_a_post(make_customer):
    news = announce("New payment method")
    client = signed_in(make_customer(), enforce_csrf_checks=True)
    dashboard(client)
    assert client.post(f"/announcements/{news.pk}/dismiss/").status_code == 403
    assert client.get(f"/announcements/{news.pk}/dismiss/").status_code == 405
    assert not AnnouncementDismissal.objects.exists()
    assert "New payment method" in dashboard(client)

    visitor = Client()
    response = visitor.post(f"/announcements/{news.pk}/dismiss/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not AnnouncementDismissal.objects.exists()


def test_a_dismissal_is_always_the_senders_own(make_customer):
    """Nothing posted names the customer: another's dismissal cannot be forged."""
    cleo, bob = make_customer("cleo"), make_customer("bob")
    news = announce("New payment method")
    cleos = signed_in(cleo)
    assert (
        cleos.post(f"/announcements/{news.pk}/dismiss/", {"user": bob.pk, "user_id": bob.pk}).status_code
        == 302
    )
    assert list(AnnouncementDismissal.objects.values_list("user", flat=True)) == [cleo.pk]
    assert "New payment method" in dashboard(signed_in(bob))


def test_dismissing_with_htmx_swaps_the_box_for_nothing_and_twice_is_once(make_customer):
    news = announce("New payment method")
    client = signed_in(make_customer())
    page = dashboard(client)
    assert f'hx-post="/announcements/{news.pk}/dismiss/"' in page and f'id="announcement-{news.pk}"' in page
    for _ in range(2):
        response = client.post(f"/announcements/{news.pk}/dismiss/", headers={"HX-Request": "true"})
        assert response.status_code == 200 and response.content == b""
    assert AnnouncementDismissal.objects.count() == 1


def test_only_an_announcement_shown_now_can_be_dismissed(make_customer):
    client = signed_in(make_customer())
    for title, start, end in [
        ("Not yet", timedelta(hours=1), None),
        ("Over", timedelta(days=-2), timedelta(hours=-1)),
    ]:
        hidden = announce(title, start=start, end=end)
        assert client.post(f"/announcements/{hidden.pk}/dismiss/").status_code == 404
    assert client.post("/announcements/99999/dismiss/").status_code == 404
    assert not AnnouncementDismissal.objects.exists()


def test_markdown_is_rendered_without_scripts_handlers_or_javascript_links(make_customer):
    announce(
        "Read me",
        body=(
            "**Bold** and [a link](https://example.com/help)\n\n"
            "<script>alert('s')</script>\n\n"
            '<img src="x" onerror="alert(1)">\n\n'
            '[click](javascript:alert(2)) <a href="JaVaScRiPt:alert(3)">x</a>\n\n'
            '<p style="color:red" onclick="alert(4)">styled</p>'
        ),
    )
    page = dashboard(signed_in(make_customer()))
    body = page[page.index('class="announcement') :]
    assert "<strong>Bold</strong>" in body and 'href="https://example.com/help"' in body
    for unsafe in ["<script", "onerror", "javascript:", "JaVaScRiPt", "onclick", "style="]:
        assert unsafe not in body, unsafe


def test_public_announcements_show_on_the_home_page_to_visitors(make_customer):
    announce("Open to all", public=True)
    announce("Customers only")
    announce("Public but over", public=True, start=timedelta(days=-2), end=timedelta(hours=-1))
    home = Client().get("/").content.decode()
    assert "Open to all" in home and "Customers only" not in home and "Public but over" not in home
    assert "Dismiss" not in home
    assert "Customers only" in dashboard(signed_in(make_customer()))
