"""Every admin form as the Owner, filled as the page fills it, then its fields replaced by a hostile value:
what passes the form's checks must never fail in the database (a number too large for its column, a text too
long), and what is refused is refused with the form shown again — never a server error.

The thorough profile (CI) posts each field's hostile value alone. By default the fields that take the same value
are posted together, and the page's own forms say which of them refused it: those are done, the rest are posted
again together (so a form that saves has saved every one of them), and a group that fails or that the form
refuses as a whole is halved until each field is alone — the same verdicts in a few posts a form instead of two
per field, unless a field's check reads another field's value."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.forms import BaseForm, BaseFormSet
from django.test import RequestFactory
from django.urls import reverse

from billing.services import account_for, balance_deposit
from orders.models import Order
from orders.services import order_place
from tests.console.support import forms_of
from tests.hostile import post
from tests.profiles import thorough

pytestmark = pytest.mark.django_db(transaction=True)  # a database error must not hide the next request's

# One value per class that once reached the database or a parser unchecked.
NUMBERS = ["sNaN", "-NaN", "1e999", "9" * 30, "999999999999.9999", "\u0661\u0660"]
TEXTS = ["x" * 10_000, "\x00", "sNaN", "\uff11", "-" + "9" * 30]
# Outside the thorough profile (tests/profiles.py): the two of each that reach furthest — a number that is
# not one, a number at its column's edge; a text past any column, a NUL.
NUMBERS_FEW, TEXTS_FEW = ["sNaN", "999999999999.9999"], ["x" * 10_000, "\x00"]


OWN_PAGES = {"billing.Account": ["adjust"], "orders.Order": ["attach"]}


@pytest.fixture
def owner(client, on_sale):
    user = User.objects.create_user("owner", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Owner"))
    customer = User.objects.create_user("cust")
    balance_deposit(account=account_for(customer), amount=1000)
    service = on_sale("Default", refill=True, cancel=True)
    for n in range(2):
        order_place(user=customer, service=service, data={"link": f"https://x.example/{n}", "quantity": "10"})
    Order.objects.filter(pk=Order.objects.first().pk).update(status=Order.Status.NEEDS_REVIEW)
    client.force_login(user)
    client.user = user
    return client


# Every model page of the admin, each swept by a test of its own (they run in parallel). The user's change page
# (its inlines) has some sixty fields: in the thorough profile, which posts each field alone, its fields are
# shared out among several tests, so that no test holds a worker for half a minute.
MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)
PARTS = {"auth.User": 6} if thorough() else {}
SWEEPS = [
    pytest.param(model, part, id=model._meta.label + (f"-{part + 1}" if model._meta.label in PARTS else ""))
    for model in MODELS
    for part in range(PARTS.get(model._meta.label, 1))
]


def pages_with_forms(client, models=MODELS) -> list[tuple[str, list[tuple[str, str]]]]:
    """(url, filled form) of every add and change page, and of every action that asks a form first."""
    found = []
    request = RequestFactory().get("/admin/")
    request.user = client.user
    for model in models:
        model_admin = admin.site._registry[model]
        base = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls = [reverse(f"{base}_add")]
        urls += [  # the admin's own pages beside the model's: adjust a balance, attach a provider's id
            reverse(f"{base}_{page}", args=[pk])
            for page in OWN_PAGES.get(model._meta.label, [])
            for pk in model._default_manager.values_list("pk", flat=True)[:1]
        ]
        urls += [
            reverse(f"{base}_change", args=[pk])
            for pk in model._default_manager.values_list("pk", flat=True)[:1]
        ]
        for url in urls:
            response = client.get(url)
            if response.status_code == 200:
                found += [(url, *form) for form in forms_of(response.content.decode())]
        changelist = reverse(f"{base}_changelist")
        ids = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)[:1]]
        for action in sorted(set(model_admin.get_actions(request)) - {"delete_selected"}) if ids else []:
            response = client.post(changelist, {"action": action, "_selected_action": ids, "index": "0"})
            if response.status_code == 200:
                found += [
                    (changelist, *form)
                    for form in forms_of(response.content.decode())
                    if ("action", action) in form[0]
                ]
    return found


def test_the_sweep_reaches_every_admin_form(owner):
    assert len(pages_with_forms(owner)) > 40


def _forms_given(value, depth: int = 0):
    """The forms in a value of a page's context: a form, the admin's wrappers of one (``.form``, ``.formset``),
    a formset's forms, lists of them."""
    if isinstance(value, BaseForm):
        yield value
    elif isinstance(value, BaseFormSet):
        yield from value.forms
    elif isinstance(value, (list, tuple)) and depth < 2:
        for item in value:
            yield from _forms_given(item, depth + 1)
    elif depth < 2 and (inner := getattr(value, "form", None) or getattr(value, "formset", None)) is not None:
        yield from _forms_given(inner, depth + 1)


def refusals(response) -> tuple[set[str], bool]:
    """The input names whose field refused its value on the page shown again, and whether a form or formset
    refused its values as a whole (an error of no field's)."""
    names, as_a_whole = set(), False
    for values in response.context or []:
        for value in values.values() if isinstance(values, dict) else []:
            for form in _forms_given(value):
                names |= {form.add_prefix(name) for name in form.errors if name != "__all__"}
                as_a_whole = as_a_whole or "__all__" in form.errors
            as_a_whole = as_a_whole or bool(isinstance(value, BaseFormSet) and value.non_form_errors())
    return names, as_a_whole


def filled_in(client, url: str, form: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``form`` as a careful operator fills it: as the page fills it, and "1" in each blank field the form
    refuses blank — so that the form is valid but for the hostile values (an empty choice or a key left to keep
    stays empty). Posting it may save it: a change page saves its row unchanged."""
    pairs = list(form)
    if ("confirmed", "1") not in pairs and any(field == "action" for field, _ in form):
        pairs.append(("confirmed", "1"))
    response = post(client, url, pairs)
    refused = refusals(response)[0] if response.status_code == 200 else set()
    return [(field, "1" if field in refused and not given.strip() else given) for field, given in pairs]


def sweep(client, url: str, filled: list[tuple[str, str]], names: list[str], value: str) -> list[tuple]:
    """Post ``value`` in the fields ``names`` of the form ``filled`` (``filled_in``): the (url, name, value) of
    each field whose value made the server fail."""
    pairs = [(field, value if field in names else given) for field, given in filled]
    response = post(client, url, pairs)
    if response.status_code >= 500 and len(names) == 1:
        return [(url, names[0], value[:20])]
    if response.status_code < 500 and (response.status_code != 200 or len(names) == 1):
        return []  # saved (each value went into the database) or refused; one field: refused
    refused, as_a_whole = refusals(response) if response.status_code == 200 else (set(), False)
    if response.status_code == 200 and refused and not refused & set(names) and not as_a_whole:
        return []  # each accepted, but a field that was filled in is refused: no post alone can save either
    accepted = [name for name in names if name not in refused]
    if refused & set(names) and accepted:
        return sweep(client, url, filled, accepted, value)
    if not accepted:
        return []
    half = len(accepted) // 2  # the server failed, or the form refused the group as a whole: halve it
    return sweep(client, url, filled, accepted[:half], value) + sweep(
        client, url, filled, accepted[half:], value
    )


@pytest.mark.parametrize(("model", "part"), SWEEPS)
def test_every_admin_form_with_each_field_hostile(owner, model, part):
    """It found: "sNaN" in a price or discount (compared before it was validated), another row's id or a
    negative form count in the read-only ledger under an account (an attempt to change or add ledger
    entries), an adjustment that made a balance its column cannot hold (PostgreSQL), and in the schedule
    pages a task name too long and a crontab field Celery cannot read."""
    pages = pages_with_forms(owner, [model])
    owner.raise_request_exception = False  # every failure listed, not only the first
    numbers, texts = (NUMBERS, TEXTS) if thorough() else (NUMBERS_FEW, TEXTS_FEW)
    if connection.vendor == "sqlite":
        # Django's SQLite limits, not the panel's: it keeps 15 significant digits, so a money value a hair
        # under its column's limit reads back over it; and a 19-digit id overflows the driver.
        numbers = [value for value in numbers if value != "999999999999.9999"]
        texts = [value for value in texts if value != "-" + "9" * 30]
    parts, failures = PARTS.get(model._meta.label, 1), []
    for url, form, numeric in pages:
        names = {name for name, _ in form} - {"csrfmiddlewaretoken", "action", "_selected_action", "index"}
        names = sorted(names)[part::parts]
        filled = filled_in(owner, url, form) if names else []
        for value in dict.fromkeys([*numbers, *texts]):
            takers = [name for name in names if value in (numbers if name in numeric else texts)]
            for group in [[name] for name in takers] if thorough() else [takers] if takers else []:
                failures += sweep(owner, url, filled, group, value)
    assert not failures, failures
