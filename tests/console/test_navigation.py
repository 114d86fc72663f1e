"""The console's pages, grouped by the business (console/navigation.py) in the sidebar and on the front page:
every model page has its one place, every page is drawn by the theme, and each role is shown exactly the
pages it may open."""

import re

import pytest
from django.contrib import admin
from unfold.admin import StackedInline, TabularInline

from console.navigation import SECTIONS
from reseller.admin_tools import ModelAdmin
from tests.staff import staff

pytestmark = pytest.mark.django_db


def test_every_model_page_has_one_place_in_the_sections():
    placed = [page.model for section in SECTIONS for page in section.pages if page.model]
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert sorted(placed) == sorted(set(placed)), "a page placed twice"
    assert set(placed) == registered, "a model page without a section, or a section naming no page"


def test_only_the_system_is_folded():
    assert [section.title for section in SECTIONS if section.folded] == ["System"]


def test_every_page_and_inline_is_drawn_by_the_theme():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ModelAdmin), model
        for inline in model_admin.inlines:
            assert issubclass(inline, TabularInline | StackedInline), (model, inline)


def _links(page: str, block_id: str) -> set[str]:
    block = re.search(rf'id="{block_id}".*?</(?:div|details)>', page, re.S)
    return set(re.findall(r'href="(/admin/[^"?]*)"', block.group(0))) if block else set()


@pytest.mark.parametrize("role", ["Owner", "Support"])
def test_each_role_is_shown_the_pages_it_may_open_and_no_other(client, role):
    staff(client, "someone", role)
    page = client.get("/admin/").content.decode()
    shown = _links(page, "console-sections") | _links(page, "console-system")
    for section in SECTIONS:
        for item in section.pages:
            url = item.url()
            opens = client.get(url).status_code == 200
            assert (url in shown) == opens, f"{role}: {url} shown={url in shown} opens={opens}"
    # The sidebar lists the same pages.
    sidebar = set(
        re.findall(r'href="(/admin/[^"?]*)"', page.split('id="nav-sidebar-apps"')[1].split("</nav>")[0])
    )
    assert shown <= sidebar


def test_support_is_shown_no_provider_money_or_system_pages(client):
    staff(client, "sam", "Support")
    page = client.get("/admin/").content.decode()
    for hidden in (
        "/admin/panels/provider/",
        "/admin/billing/topup/",
        "/admin/django_celery_beat/periodictask/",
    ):
        assert f'href="{hidden}"' not in page
    assert 'href="/admin/orders/order/"' in page and 'href="/admin/support/ticket/"' in page
