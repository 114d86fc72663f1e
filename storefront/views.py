"""Storefront pages. Thin: each reads through a selector or writes through one service."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from api.models import ApiKey, ApiRequest
from api.services import api_key_issue, api_keys_revoke
from api.v2_actions import MULTI_LIMIT
from billing.fees import NoRate, topup_quote
from billing.gateways import GatewayNotEnabled, enabled_gateway, enabled_gateways
from billing.models import TopUp
from billing.money import to_money
from billing.processors.base import NotificationRefused, ProcessorUnavailable
from billing.services import InsufficientFunds, account_for
from billing.topups import (
    MAX_TOPUP,
    charged,
    charged_in,
    offered_methods,
    topup_checkout,
    topup_notification,
    topup_request,
)
from catalogue.models import Service
from catalogue.orderable import services_on_sale
from catalogue.pricing import customer_prices
from content.selectors import announcements_shown
from orders.completion_times import completion_times
from orders.mass_orders import mass_order_lines, mass_order_outcome, mass_order_place
from orders.models import Order, OrderEvent
from orders.order_types import ORDER_TYPES
from orders.refills import refill_refusal, refill_request
from orders.selectors import orders_of, refills_of
from orders.services import cancel_refusal, order_cancel, order_place, order_quote
from panels.normalize import ServiceType
from reseller.numbers import decimal_number, whole_number
from reseller.paging import page_without_count
from reseller.states import StateGroup
from storefront.forms import MassOrderForm, TopUpForm, order_form, put_errors, raw_order_data
from storefront.labels import status_label
from storefront.parsing import query_text
from storefront.submissions import TOKEN_FIELD, submit_once

PAGE_SIZE = 25
ANNOUNCEMENTS_SHOWN = 10
REQUEST_LOG_ROWS = 50
_SUBSCRIPTION_TABS = (
    StateGroup(key="active", label="Active", statuses=Order.states.open),
    StateGroup(key="expired", label="Expired", statuses=Order.states.final),
)


def _priced(user, services) -> list[Service]:
    """Services with ``.your_price`` (the customer's own price, or the list price for visitors) and
    ``.average`` (their average completion time: one query for the page's uncached ones)."""
    services = list(services)
    prices = customer_prices(user=user, services=services) if user.is_authenticated else {}
    averages = completion_times(service.pk for service in services)
    for service in services:
        service.your_price = prices.get(service.pk, service.price)
        service.average = averages[service.pk]
    return services


def _matching(services, query: str):
    """Services whose name holds ``query``, or whose id it is."""
    if not query:
        return services
    service_id = whole_number(query)
    return services.filter(Q(name__icontains=query) | (Q(pk=service_id) if service_id else Q(pk__in=[])))


# --- public ---------------------------------------------------------------------------------------------


def home(request):
    categories = services_on_sale().values("category").annotate(count=Count("pk")).order_by("category")
    # Visitors see the announcements the operator made public; customers see theirs on the dashboard.
    shown = (
        [] if request.user.is_authenticated else announcements_shown(user=request.user)[:ANNOUNCEMENTS_SHOWN]
    )
    return render(request, "storefront/home.html", {"categories": categories, "announcements": shown})


def services(request):
    query, category = query_text(request.GET, "q", max_length=100), query_text(request.GET, "category")
    listed = _matching(services_on_sale(), query)
    if category:
        listed = listed.filter(category=category)
    categories = services_on_sale().order_by("category").values_list("category", flat=True).distinct()
    return render(
        request,
        "storefront/services.html",
        {
            "services": _priced(request.user, listed.order_by("category", "pk")),
            "categories": categories,
            "query": query,
            "category": category,
        },
    )


def api_docs(request):
    """API v2 for this panel's own address, with examples: what a reseller needs to connect."""
    return render(
        request,
        "storefront/api_docs.html",
        {
            "endpoint": request.build_absolute_uri("/api/v2"),
            "rest_docs": reverse("api:docs"),
            "order_types": [(name, kind.required) for name, kind in ORDER_TYPES.items()],
            "multi_limit": MULTI_LIMIT,
            "currency": settings.PANEL_CURRENCY,
            "rate_limit": settings.API_RATE_LIMIT,
        },
    )


# --- the customer's own ----------------------------------------------------------------------------------


@login_required
def dashboard(request):
    account = account_for(request.user)
    since = timezone.now() - timedelta(days=30)
    spent = (
        orders_of(request.user)
        .filter(created_at__gte=since)
        .aggregate(charged=Sum("charge"), refunded=Sum("refunded"), count=Count("pk"))
    )
    return render(
        request,
        "storefront/dashboard.html",
        {
            "account": account,
            "recent": orders_of(request.user).select_related("service")[:5],
            # to_money: SQLite's sums come back with more decimals than the columns have.
            "spent_30_days": to_money((spent["charged"] or Decimal(0)) - (spent["refunded"] or Decimal(0))),
            "orders_30_days": spent["count"],
            "open_orders": orders_of(request.user).filter(status__in=Order.states.open).count(),
            "announcements": announcements_shown(user=request.user)[:ANNOUNCEMENTS_SHOWN],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_order(request):
    """Category, then service, then the fields of its type; the charge is quoted as the customer types."""
    on_sale = services_on_sale()
    service_id = whole_number(request.POST.get("service") or request.GET.get("service"))
    service = on_sale.filter(pk=service_id).first() if service_id else None
    category = service.category if service else query_text(request.GET, "category")
    query = query_text(request.GET, "q", max_length=100)
    # A search looks in the chosen category, or in all of them when none is chosen.
    offered = _matching(on_sale.filter(category=category) if category else on_sale, query)
    form = order_form(service, request.POST if request.method == "POST" else None) if service else None
    if request.method == "POST" and service and form.is_valid():
        try:
            outcome, placed_now = submit_once(
                user=request.user,
                token=request.POST.get(TOKEN_FIELD),
                form="order",
                act=lambda: {
                    "order": order_place(
                        user=request.user, service=service, data=raw_order_data(form), actor=request.user
                    ).pk
                },
            )
        except ValidationError as error:
            put_errors(form, error)
        except InsufficientFunds:
            form.add_error(None, _("Not enough funds on your balance: add funds first."))
        else:
            if placed_now:
                messages.success(
                    request,
                    _("Order #%(id)s placed. Your balance is now %(balance)s %(currency)s.")
                    % {
                        "id": outcome["order"],
                        "balance": account_for(request.user).balance,
                        "currency": settings.PANEL_CURRENCY,
                    },
                )
            else:
                messages.info(
                    request,
                    _("This form was already sent: order #%(id)s was placed once, not again.")
                    % {"id": outcome["order"]},
                )
            return redirect("storefront:order", pk=outcome["order"])
    context = {
        "categories": on_sale.order_by("category").values_list("category", flat=True).distinct(),
        "category": category,
        "services": _priced(request.user, offered.order_by("category", "pk")) if category or query else [],
        "query": query,
        "service": _priced(request.user, [service])[0] if service else None,
        "form": form,
        "balance": account_for(request.user).balance,
    }
    if request.htmx and request.method == "GET":
        target = request.htmx.target
        template = {
            "service-picker": "storefront/partials/service_picker.html",
            "order-fields": "storefront/partials/order_fields.html",
        }.get(target)
        if template:
            return render(request, template, context)
    return render(request, "storefront/new_order.html", context)


@login_required
@require_POST
def order_quote_view(request):
    service_id = whole_number(request.POST.get("service"))
    service = services_on_sale().filter(pk=service_id).first() if service_id else None
    if service is None:
        return HttpResponse("")
    form = order_form(service, request.POST)
    try:
        charge = order_quote(user=request.user, service=service, data=raw_order_data(form))
    except ValidationError as error:
        field, problems = next(iter(error.message_dict.items()))
        label = form.fields[field].label if field in form.fields else ""
        return render(
            request,
            "storefront/partials/quote.html",
            {"problem": f"{label}: {problems[0]}" if label else problems[0]},
        )
    return render(
        request, "storefront/partials/quote.html", {"charge": charge, "currency": settings.PANEL_CURRENCY}
    )


@login_required
@require_http_methods(["GET", "POST"])
def mass_order(request):
    """Each line placed or refused on its own. The box then holds only the refused lines, so sending it
    again after fixing them places only those; the same rendering of the form sent twice places once."""
    form = MassOrderForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        try:
            outcome, placed_now = submit_once(
                user=request.user,
                token=request.POST.get(TOKEN_FIELD),
                form="mass-order",
                act=lambda: mass_order_outcome(
                    mass_order_place(user=request.user, text=form.cleaned_data["orders"], actor=request.user)
                ),
                done=lambda outcome: any(line["order"] for line in outcome["lines"]),
            )
        except ValidationError as error:
            put_errors(form, error)
        else:
            results = mass_order_lines(outcome, orders=orders_of(request.user))
            if not placed_now:
                messages.info(request, _("This form was already sent: these are its results, placed once."))
            refused = "\n".join(line.text for line in results if not line.order)
            form = MassOrderForm(initial={"orders": refused})
    return render(
        request,
        "storefront/mass_order.html",
        {
            "form": form,
            "results": results,
            "accepted": [line for line in results or [] if line.order],
            "refused": [line for line in results or [] if not line.order],
            "balance": account_for(request.user).balance,
        },
    )


@login_required
def orders(request, kind: str = "all"):
    """Tabs by status, search by id or link, pages by number without counting the history: the same
    queries whatever its length."""
    tab, query = request.GET.get("status", ""), query_text(request.GET, "q")
    listed = orders_of(request.user).select_related("service")
    if kind == "drip-feed":
        listed = listed.filter(runs__isnull=False)
    elif kind == "subscriptions":
        listed = listed.filter(type=ServiceType.SUBSCRIPTIONS)
    # Subscriptions split in two: still running (any open state) and over (any final one).
    groups = _SUBSCRIPTION_TABS if kind == "subscriptions" else Order.states.public_groups()
    if group := next((group for group in groups if group.key == tab), None):
        listed = listed.filter(status__in=group.statuses)
    if query:
        order_id = whole_number(query)
        listed = listed.filter(pk=order_id) if order_id else listed.filter(link__icontains=query)
    page = page_without_count(listed, request.GET.get("page"), per_page=PAGE_SIZE)
    return render(
        request,
        "storefront/orders.html",
        {
            "page": page,
            # The statuses customers see (API v2's), each with ours behind it.
            "tabs": [(group.key, status_label(group.label)) for group in groups],
            "tab": tab,
            "query": query,
            "kind": kind,
        },
    )


@login_required
def order_detail(request, pk: int):
    order = get_object_or_404(
        orders_of(request.user)
        .select_related("service")
        .prefetch_related(
            Prefetch(
                "events", queryset=OrderEvent.objects.exclude(public_message=""), to_attr="public_events"
            ),
            "refills",
        ),
        pk=pk,
    )
    return render(
        request,
        "storefront/order_detail.html",
        {
            "order": order,
            "can_refill": refill_refusal(order) is None,  # a refill under way or being checked included
            "can_cancel": cancel_refusal(order) is None,
        },
    )


@login_required
@require_POST
def order_refill(request, pk: int):
    order = get_object_or_404(orders_of(request.user).select_related("service"), pk=pk)
    try:
        refill_request(order=order, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Refill requested: it is on its way to the provider."))
    return redirect("storefront:order", pk=pk)


@login_required
@require_POST
def order_cancel_view(request, pk: int):
    order = get_object_or_404(orders_of(request.user).select_related("service"), pk=pk)
    try:
        outcome = order_cancel(order=order, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, outcome)
    return redirect("storefront:order", pk=pk)


@login_required
def refills(request):
    refills = refills_of(request.user).select_related("order__service").order_by("-created_at", "-id")
    page = page_without_count(refills, request.GET.get("page"), per_page=PAGE_SIZE)
    return render(request, "storefront/refills.html", {"page": page})


# --- money ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def funds(request):
    form = TopUpForm(request.POST or None, initial={"method": TopUp.Method.MANUAL})
    if request.method == "POST" and form.is_valid():
        try:
            outcome, requested_now = submit_once(  # a repeat goes on with the first top-up, not a second
                user=request.user,
                token=request.POST.get(TOKEN_FIELD),
                form="top-up",
                act=lambda: {
                    "topup": topup_request(
                        user=request.user,
                        amount=form.cleaned_data["amount"],
                        method=form.cleaned_data["method"],
                        reference=form.cleaned_data["reference"],
                    ).pk
                },
            )
        except ValidationError as error:
            put_errors(form, error)
        else:
            topup = TopUp.objects.get(pk=outcome["topup"])
            if topup.method not in enabled_gateways():
                messages.success(
                    request, _("Thank you: we credit your balance as soon as we see your payment.")
                )
                return redirect("storefront:funds")
            if not requested_now and topup.checkout_url:  # sent twice: the one payment page, not a second
                return redirect(topup.checkout_url)
            funds_url = request.build_absolute_uri(reverse("storefront:funds"))
            try:
                return redirect(
                    topup_checkout(
                        topup=topup,
                        success_url=f"{funds_url}?paid={topup.pk}",
                        cancel_url=funds_url,
                        notify_url=request.build_absolute_uri(
                            reverse("storefront:gateway-callback", args=[topup.method])
                        ),
                    )
                )
            except ProcessorUnavailable:
                messages.error(
                    request, _("The payment could not be started; nothing was charged. Please try again.")
                )
                return redirect("storefront:funds")
    if returned := whole_number(request.GET.get("paid", "")):  # back from the processor's page
        _returned_from_payment(request, returned)
    ledger = page_without_count(
        account_for(request.user).ledger.all(), request.GET.get("page"), per_page=PAGE_SIZE
    )
    return render(
        request,
        "storefront/funds.html",
        {
            "form": form,
            "account": account_for(request.user),
            "topups": TopUp.objects.filter(user=request.user)[:10],
            "ledger": ledger,
            "methods": offered_methods().values(),
        },
    )


@login_required
@require_POST
def funds_quote(request):
    """What a top-up would cost and bring, as the customer types: the same numbers ``topup_request`` uses."""
    method = offered_methods().get(request.POST.get("method", ""))
    amount = decimal_number(request.POST.get("amount", ""))
    if method is None or amount is None or not 0 < amount <= MAX_TOPUP:
        return HttpResponse("")
    try:
        quote = topup_quote(method=method, amount=amount)
    except NoRate:  # its rate went since the page was shown
        return HttpResponse("")
    return render(
        request, "storefront/partials/funds_quote.html", {"quote": quote, "currency": settings.PANEL_CURRENCY}
    )


def _returned_from_payment(request, topup_id: int) -> None:
    """The processor sent the customer back: say where the payment stands (its notification decides it, and
    may come before or after the customer does)."""
    topup = TopUp.objects.filter(pk=topup_id, user=request.user).first()
    if topup is None:
        return
    if topup.status == TopUp.Status.CREDITED:
        messages.success(
            request, _("Payment received: %(amount)s added to your balance.") % {"amount": topup.amount}
        )
    elif topup.status == TopUp.Status.PENDING:
        messages.info(request, _("Thank you: your balance is credited as soon as the payment is confirmed."))


@login_required
@require_http_methods(["GET", "POST"])
def sandbox_pay(request, pk: int):
    """The sandbox gateway's hosted payment page: in real life on the gateway's site. Not there at all where
    the sandbox is not enabled (production)."""
    try:
        sandbox = enabled_gateway(TopUp.Method.SANDBOX)
    except GatewayNotEnabled:
        raise Http404 from None
    topup = get_object_or_404(TopUp, pk=pk, user=request.user, method=TopUp.Method.SANDBOX)
    if topup.status != TopUp.Status.PENDING:  # paid (or closed) already: nothing left to pay here
        return render(
            request,
            "storefront/sandbox_pay.html",
            {"topup": topup, "amount": charged(topup), "currency": charged_in(topup), "closed": True},
        )
    if request.method == "POST":
        paid = "pay" in request.POST
        signed = sandbox.sign(
            topup_id=topup.pk,
            paid=paid,
            amount=charged(topup),
            currency=charged_in(topup),
            gateway_reference=f"sbx_{topup.pk}",
        )
        return render(request, "storefront/sandbox_return.html", {"signed": signed})
    return render(
        request,
        "storefront/sandbox_pay.html",
        {"topup": topup, "amount": charged(topup), "currency": charged_in(topup)},
    )


@csrf_exempt  # called by the processor, not by a form of ours: the signature is the proof
@require_POST
def gateway_callback(request, gateway: str):
    try:
        notifications = topup_notification(gateway=gateway, body=request.body, headers=request.headers)
    except GatewayNotEnabled:
        raise Http404 from None
    except NotificationRefused as error:
        return HttpResponseBadRequest(str(error))
    # The sandbox's page posts its notification from the customer's browser, and sends them back to us.
    topup = notifications[0].topup if notifications else None
    if request.POST.get("return") and request.user.is_authenticated and topup is not None:
        topup.refresh_from_db()
        if topup.status == TopUp.Status.CREDITED:
            messages.success(
                request, _("Payment received: %(amount)s added to your balance.") % {"amount": topup.amount}
            )
        else:
            messages.warning(request, _("The payment was canceled; nothing was charged."))
        return redirect("storefront:funds")
    return HttpResponse("OK")


# --- API ------------------------------------------------------------------------------------------------


@never_cache  # the new key is shown once and must not stay in any cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    new_key = None
    if request.method == "POST":
        if "revoke" in request.POST:
            api_keys_revoke(ApiKey.objects.filter(user=request.user), actor=request.user)
            messages.success(
                request, _("Your API key was revoked: calls made with it are refused from now on.")
            )
        else:
            _key, new_key = api_key_issue(user=request.user, actor=request.user)
    return render(
        request,
        "storefront/api_keys.html",
        {
            "new_key": new_key,
            "key": ApiKey.objects.filter(user=request.user, revoked_at__isnull=True).first(),
            "requests": ApiRequest.objects.filter(user=request.user).select_related("api_key")[
                :REQUEST_LOG_ROWS
            ],
            "endpoint": request.build_absolute_uri("/api/v2"),
        },
    )
