"""The operator's console beyond the model pages: the dashboard, the review queue and the customer page."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render

from billing.admin import AdjustmentForm
from catalogue.margins import storefront_losses
from console.charts import money_chart
from console.customers import customer_page, sections_for
from console.heartbeat import heartbeats
from console.roles import moves_money, sees_providers
from console.selectors import (
    SENDING_WINDOW,
    auto_refills,
    balances,
    money_by_day,
    orders_by_status,
    provider_health,
    review_counts,
    review_queue,
    review_queue_count,
    review_refills,
    route_shares,
    sending,
    top_services,
)

# The queue page lists the oldest this many; the order list filtered to the queue has them all.
REVIEW_PAGE_SIZE = 100
# The dashboard's periods, in days; anything else in ?days= shows the default.
PERIODS, DEFAULT_PERIOD = (7, 30, 90), 30
# The dashboard lists this many prices under cost, the worst first.
UNDER_COST_LISTED = 20


@staff_member_required
@permission_required(
    "panels.view_provider", raise_exception=True
)  # owners: figures include money and providers
def dashboard(request):
    period = next((choice for choice in PERIODS if request.GET.get("days") == str(choice)), DEFAULT_PERIOD)
    days, unpriced = money_by_day(days=period)
    providers = provider_health(days=period)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "period": period,
        "periods": PERIODS,
        "days": days,
        "chart": money_chart(days),
        "unpriced_currencies": unpriced,
        "totals": {
            "revenue": sum(day.revenue for day in days),
            "cost": sum(day.cost for day in days),
            "profit": sum(day.profit for day in days),
        },
        "orders_by_status": orders_by_status(),
        "top_services": top_services(days=period),
        "balances": balances(),
        "providers": providers,
        "sending": sending(providers=providers),
        "routes": route_shares(),
        "sending_minutes": int(SENDING_WINDOW.total_seconds() // 60),
        "heartbeats": heartbeats(),
        "review_count": review_queue_count(),
        "auto_refills": auto_refills(),
        "under_cost": storefront_losses(),
        "under_cost_listed": UNDER_COST_LISTED,
    }
    return render(request, "console/dashboard.html", context)


@staff_member_required
@permission_required("orders.change_order", raise_exception=True)
def review(request):
    orders_total, refills_total = review_counts()
    shown = sees_providers(request.user)  # Support resolves reviews without learning who the provider is
    context = {
        **admin.site.each_context(request),
        "title": f"Needs review ({orders_total + refills_total})",
        "entries": review_queue(limit=REVIEW_PAGE_SIZE, provider_details=shown),
        "orders_total": orders_total,
        "refills": review_refills(limit=REVIEW_PAGE_SIZE, provider_details=shown),
        "refills_total": refills_total,
        "sees_providers": shown,
        "moves_money": moves_money(request.user),
    }
    return render(request, "console/review_queue.html", context)


@staff_member_required
@permission_required("auth.view_user", raise_exception=True)  # Owner and Support: customers, by section
def customer(request, pk: int):
    user = get_object_or_404(
        get_user_model().objects.select_related("profile", "account", "pricing", "affiliate"), pk=pk
    )
    page = customer_page(
        user, sections=sections_for(request.user), ledger_page=request.GET.get("ledger_page")
    )
    context = {
        **admin.site.each_context(request),
        "title": f"Customer {user.get_username()}",
        "page": page,
        "moves_money": moves_money(request.user),
        # The balance form is billing's own; it posts to its page, which comes back here.
        "adjust_form": AdjustmentForm() if page.account is not None else None,
        "revokes_keys": request.user.has_perm("api.change_apikey"),
        "changes_users": request.user.has_perm("auth.change_user"),
    }
    return render(request, "console/customer.html", context)
