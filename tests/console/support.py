"""Helpers for the tests of the operator console: reading its forms as a browser submits them, and what each
model page offers."""

import re
from html.parser import HTMLParser

from django.contrib.auth.models import User
from django.test import Client, RequestFactory


class _Forms(HTMLParser):
    """The POST forms of a page: each a list of (name, value) as a browser would submit it untouched."""

    def __init__(self):
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self.numeric: set[str] = set()
        self._select: str | None = None
        self._first_option: str | None = None
        self._chose = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.forms.append([])
        if not self.forms:
            return
        fields, name = self.forms[-1], attrs.get("name")
        if tag == "input" and attrs.get("type") == "number":
            self.numeric.add(name)
        if tag == "input" and name and attrs.get("type") not in {"submit", "button", "file", "image"}:
            if attrs.get("type") not in {"checkbox", "radio"} or "checked" in attrs:
                # A ticked box without a value is sent as "on" (an empty value would read as unticked).
                unset = "on" if attrs.get("type") in {"checkbox", "radio"} else ""
                fields.append((name, attrs.get("value") or unset))
        elif tag == "select" and name:
            self._select, self._first_option, self._chose = name, None, False
        elif tag == "option" and self._select:
            value = attrs.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in attrs and not self._chose:
                fields.append((self._select, value))
                self._chose = True
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))

    def handle_data(self, data):
        if self._textarea and self.forms:
            name, value = self.forms[-1][-1]
            self.forms[-1][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._chose and self._first_option is not None and self.forms:
                self.forms[-1].append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> list[tuple[list[tuple[str, str]], set[str]]]:
    """Each POST form of the page as it would be submitted, with the names of its number inputs."""
    parser = _Forms()
    parser.feed(html)
    return [
        (form, parser.numeric)
        for form in parser.forms
        if any(name == "csrfmiddlewaretoken" for name, _ in form)
    ]


def actions_for(user: User, model_admin) -> set[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return set(model_admin.get_actions(request))


def label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def page_form(client: Client, url: str, field: str) -> dict:
    """The page's POST form that holds ``field``, as a browser would send it untouched: a ticked box says
    "on", a multiple choice with nothing chosen says nothing."""
    page = client.get(url)
    assert page.status_code == 200, url
    html = page.content.decode()
    ticked = set(re.findall(r'<input type="checkbox" name="([^"]+)"[^>]*checked', html))
    multiple = set(re.findall(r'<select name="([^"]+)"[^>]*multiple', html))
    for fields, _numeric in forms_of(html):
        if any(name == field for name, _ in fields):
            data: dict = {}
            for name, value in fields:
                if name not in multiple or f'value="{value}" selected' in html:
                    data.setdefault(name, []).append("on" if name in ticked and not value else value)
            return data
    raise AssertionError(f"no form with {field} on {url}")
