"""What the customer page reads: one customer's money, orders, prices, API key, tickets, referrals and
profile, each section only for staff whose role may see it (``sections_for``) and read only then."""

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Max

from accounts.two_factor import two_factor_enabled
from api.models import ApiKey, ApiRequest
from billing.models import LedgerEntry
from catalogue.models import CustomerServicePrice
from orders.models import Order
from referrals.models import Referral
from referrals.selectors import AffiliateFigures, affiliate_figures
from support.selectors import tickets_of

# Each section of the page and the permission that shows it: the model pages it stands for need the same.
SECTIONS = {
    "balance": "billing.view_account",
    "ledger": "billing.view_ledgerentry",
    "orders": "orders.view_order",
    "pricing": "catalogue.view_customerpricing",
    "api-key": "api.view_apikey",
    "api-requests": "api.view_apirequest",
    "tickets": "support.view_ticket",
    "referrals": "referrals.view_referral",
    "profile": "accounts.view_profile",
}
RECENT_ORDERS = 20
RECENT_API_REQUESTS = 10
RECENT_TICKETS = 10
LISTED_REFERRALS = 20
LEDGER_PAGE_SIZE = 25


def sections_for(staff) -> set[str]:
    return {section for section, permission in SECTIONS.items() if staff.has_perm(permission)}


@dataclass
class CustomerPage:
    customer: object
    sections: set[str]
    account: object = None
    ledger: Page | None = None
    orders: list = field(default_factory=list)
    order_count: int = 0
    discount_percent: object = None
    custom_prices: list = field(default_factory=list)
    api_keys: list = field(default_factory=list)
    api_requests: list = field(default_factory=list)
    tickets: list = field(default_factory=list)
    ticket_count: int = 0
    referred_by: Referral | None = None
    referred: list = field(default_factory=list)
    referral_figures: AffiliateFigures | None = None
    two_factor: bool = False


def customer_page(customer, *, sections: set[str], ledger_page=None) -> CustomerPage:
    """``customer``'s page (the user loaded with ``profile``, ``account``, ``pricing`` and ``affiliate``),
    with ``sections`` filled; the ledger at ``ledger_page`` (a number as given in the query string)."""
    page = CustomerPage(customer=customer, sections=sections, account=getattr(customer, "account", None))
    if "ledger" in sections and page.account is not None:
        entries = LedgerEntry.objects.filter(account=page.account).select_related("created_by")
        page.ledger = Paginator(entries.order_by("-created_at", "-pk"), LEDGER_PAGE_SIZE).get_page(
            ledger_page
        )
    if "orders" in sections:
        orders = Order.objects.filter(user=customer)
        page.order_count = orders.count()
        page.orders = list(orders.select_related("service").order_by("-created_at", "-pk")[:RECENT_ORDERS])
    if "pricing" in sections:
        pricing = getattr(customer, "pricing", None)
        page.discount_percent = pricing.discount_percent if pricing is not None else None
        custom = CustomerServicePrice.objects.filter(user=customer).select_related("service")
        page.custom_prices = list(custom.order_by("service__name"))
    if "api-key" in sections:
        keys = ApiKey.objects.filter(user=customer).annotate(last_used=Max("requests__created_at"))
        page.api_keys = list(keys.order_by("-created_at"))
    if "api-requests" in sections:
        requests = ApiRequest.objects.filter(user=customer).select_related("api_key")
        page.api_requests = list(requests.order_by("-created_at", "-pk")[:RECENT_API_REQUESTS])
    if "tickets" in sections:
        tickets = tickets_of(customer)
        page.ticket_count = tickets.count()
        page.tickets = list(tickets.order_by("-updated_at", "-pk")[:RECENT_TICKETS])
    if "referrals" in sections:
        page.referred_by = Referral.objects.filter(referred=customer).select_related("referrer__user").first()
        affiliate = getattr(customer, "affiliate", None)
        if affiliate is not None:
            referred = Referral.objects.filter(referrer=affiliate).select_related("referred")
            page.referred = list(referred.order_by("-created_at")[:LISTED_REFERRALS])
            page.referral_figures = affiliate_figures(affiliate)
    if "profile" in sections:
        page.two_factor = two_factor_enabled(customer)
    return page
