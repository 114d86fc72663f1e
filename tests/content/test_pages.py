"""The terms, FAQ and privacy pages: written by the operator in the console (audited; the Owner's, not
Support's), served at stable addresses, linked from the footer and the sign-up page once written — and a
404, with no link to it anywhere, until then."""

import pytest
from django.test import Client

from audit.models import AuditEntry
from content.models import Announcement, Page
from tests.staff import staff

pytestmark = pytest.mark.django_db

ADDRESSES = ["/terms/", "/faq/", "/privacy/"]


def test_an_unwritten_page_is_a_404_and_never_linked(client):
    for address in ADDRESSES:
        assert client.get(address).status_code == 404
    for path in ["/", "/services/", "/accounts/sign-up/"]:
        page = client.get(path).content.decode()
        assert not any(f'href="{address}"' in page for address in ADDRESSES), path
        assert "agree" not in page


def test_the_owner_writes_a_page_in_the_console_and_customers_read_it(client):
    owner = staff(client, "olive", "Owner")
    response = client.post(
        "/admin/content/page/add/",
        {
            "slug": "terms",
            "title": "Terms of service",
            "body": "## Refunds\n\nWe refund **undelivered** quantity.\n\n<script>alert(1)</script>"
            '<a href="javascript:alert(2)">x</a><img src=x onerror="alert(3)">',
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="content.page.add", target_id=str(Page.objects.get().pk))
    assert entry.actor == owner and "body" in entry.changes

    visitor = Client()
    page = visitor.get("/terms/").content.decode()
    page = page[page.index('<article class="page">') : page.index("</article>")]
    assert "<h2>Refunds</h2>" in page and "<strong>undelivered</strong>" in page
    for unsafe in ["<script", "javascript:", "onerror"]:
        assert unsafe not in page
    # Linked from the footer of every storefront page, and from the sign-up form.
    assert '<footer class="site">' in visitor.get("/services/").content.decode()
    assert 'href="/terms/">Terms of service</a>' in visitor.get("/services/").content.decode()
    sign_up = visitor.get("/accounts/sign-up/").content.decode()
    assert 'By signing up you agree to the <a href="/terms/">Terms of service</a>.' in sign_up
    assert 'href="/faq/"' not in sign_up  # the FAQ is not written yet

    client.post(
        f"/admin/content/page/{Page.objects.get().pk}/change/",
        {"slug": "terms", "title": "Terms", "body": "Changed."},
    )
    assert "Changed." in visitor.get("/terms/").content.decode()
    assert AuditEntry.objects.filter(action="content.page.change", changes__has_key="body").exists()


def test_every_page_at_its_own_address():
    for slug, title in Page.Slug.choices:
        Page.objects.create(slug=slug, title=title, body=f"About {slug}.")
    client = Client()
    for slug in Page.Slug.values:
        assert f"About {slug}." in client.get(f"/{slug}/").content.decode()
    footer = client.get("/").content.decode().split('<footer class="site">')[1]
    assert footer.index("/terms/") < footer.index("/faq/") < footer.index("/privacy/")


def test_support_posts_announcements_but_never_edits_pages(client):
    staff(client, "sue", "Support")
    assert client.get("/admin/content/announcement/add/").status_code == 200
    response = client.post(
        "/admin/content/announcement/add/",
        {
            "title": "Instagram delays",
            "body": "Orders start later today.",
            "severity": "warning",
            "starts_at_0": "2026-01-01",
            "starts_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="content.announcement.add", target_repr="Instagram delays").exists()
    for path in ["/admin/content/page/", "/admin/content/page/add/", "/admin/content/serviceupdate/"]:
        assert client.get(path).status_code == 403, path
    assert (
        client.post("/admin/content/page/add/", {"slug": "faq", "title": "x", "body": "x"}).status_code == 403
    )
    assert not Page.objects.exists()


def test_an_announcement_cannot_end_before_it_starts(client):
    staff(client, "olive", "Owner")
    response = client.post(
        "/admin/content/announcement/add/",
        {
            "title": "Backwards",
            "severity": "info",
            "starts_at_0": "2026-01-02",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2026-01-01",
            "ends_at_1": "00:00:00",
        },
    )
    assert (
        response.status_code == 200 and "An announcement ends after it starts." in response.content.decode()
    )
    assert not Announcement.objects.exists()
