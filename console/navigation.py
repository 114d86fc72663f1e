"""The console's pages grouped by the business — orders, customers, catalogue, providers, money, what
customers are told — and the system's last, folded: the sidebar (django-unfold's SIDEBAR) and the front page
both draw this. Each role sees the pages it may open: a model page when its admin lets the user view it, a
console page when the user holds the permission its view asks for."""

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.contrib import admin
from django.urls import get_script_prefix, get_urlconf, reverse


@dataclass(frozen=True)
class Page:
    title: str
    icon: str  # a Material Symbols name (the icon font unfold ships)
    model: str = ""  # "app_label.model_name": its list
    url_name: str = ""  # or a console page …
    permission: str = ""  # … and the permission its view asks for

    def url(self) -> str:
        return _link(self.model, self.url_name, get_script_prefix(), get_urlconf())

    def allowed(self, request) -> bool:
        if not self.model:
            return request.user.has_perm(self.permission)
        model_admin = admin.site._registry.get(apps.get_model(self.model))
        return model_admin is not None and model_admin.has_view_or_change_permission(request)


@cache
def _link(model: str, url_name: str, script_prefix: str, urlconf) -> str:
    """A page's URL, reversed once per prefix and URLconf (``reverse`` reads both): ~60 pages drawn in the
    sidebar of every admin page made reversing them a third of the sidebar's time."""
    if model:
        return reverse("admin:{}_{}_changelist".format(*model.split(".")), urlconf=urlconf)
    return reverse(url_name, urlconf=urlconf)


@dataclass(frozen=True)
class Section:
    title: str
    pages: tuple[Page, ...]
    folded: bool = False  # the system's pages: shown when asked for


CHANGE_ORDER = "orders.change_order"  # what the review queue's view asks

SECTIONS = (
    Section(
        "Orders & review",
        (
            Page(
                "Needs review", "pending_actions", url_name="console:review", permission="orders.change_order"
            ),
            Page("Orders", "shopping_cart", "orders.order"),
            Page("Refills", "autorenew", "orders.refill"),
            Page("Order events", "history", "orders.orderevent"),
        ),
    ),
    Section(
        "Customers",
        (
            Page("Customers", "group", "auth.user"),
            Page("Profiles", "badge", "accounts.profile"),
            Page("Support tickets", "support_agent", "support.ticket"),
            Page("Canned replies", "quickreply", "support.cannedreply"),
            Page("API keys", "key", "api.apikey"),
            Page("API requests", "api", "api.apirequest"),
            Page("Affiliates", "handshake", "referrals.affiliate"),
            Page("Referrals", "share", "referrals.referral"),
            Page("Referral payouts", "payments", "referrals.affiliatepayout"),
            Page("Commission ledger", "receipt", "referrals.affiliateentry"),
        ),
    ),
    Section(
        "Catalogue",
        (
            Page("Services", "storefront", "catalogue.service"),
            Page("Markup rules", "percent", "catalogue.markuprule"),
            Page("Customer pricings", "sell", "catalogue.customerpricing"),
            Page("Customer prices", "price_change", "catalogue.customerserviceprice"),
            Page("Currency rates", "currency_exchange", "catalogue.currencyrate"),
        ),
    ),
    Section(
        "Providers",
        (
            Page("Dashboard", "monitoring", url_name="console:dashboard", permission="panels.view_provider"),
            Page("Providers", "hub", "panels.provider"),
            Page("Provider services", "inventory_2", "panels.providerservice"),
            Page("Sync runs", "sync", "panels.syncrun"),
            Page("Provider calls", "call_made", "panels.providercall"),
            Page("Webhooks at providers", "webhook", "webhooks.upstreamwebhook"),
        ),
    ),
    Section(
        "Money",
        (
            Page("Balances", "account_balance_wallet", "billing.account"),
            Page("Top-ups", "add_card", "billing.topup"),
            Page("Ledger", "receipt_long", "billing.ledgerentry"),
            Page("Payment methods", "credit_card", "billing.paymentmethod"),
            Page("Payment notifications", "notifications_active", "billing.paymentnotification"),
        ),
    ),
    Section(
        "Content & communication",
        (
            Page("Announcements", "campaign", "content.announcement"),
            Page("Pages", "article", "content.page"),
            Page("Service updates", "update", "content.serviceupdate"),
            Page("Branding", "palette", "content.branding"),
            Page("Notification settings", "tune", "notifications.operatorsettings"),
            Page("Operator alerts", "warning", "notifications.operatoralert"),
            Page("Notifications sent", "mail", "notifications.notification"),
        ),
    ),
    Section(
        "System",
        (
            Page("Audit trail", "fact_check", "audit.auditentry"),
            Page("Periodic tasks", "schedule", "django_celery_beat.periodictask"),
            Page("Crontabs", "event_repeat", "django_celery_beat.crontabschedule"),
            Page("Intervals", "timer", "django_celery_beat.intervalschedule"),
            Page("Solar events", "wb_twilight", "django_celery_beat.solarschedule"),
            Page("Clocked", "alarm", "django_celery_beat.clockedschedule"),
            Page("Login lockouts", "lock_person", "axes.accessattempt"),
            Page("Login failures", "gpp_bad", "axes.accessfailurelog"),
            Page("Login log", "login", "axes.accesslog"),
            Page("TOTP devices", "phonelink_lock", "otp_totp.totpdevice"),
            Page("Recovery codes", "password", "otp_static.staticdevice"),
            Page("Staff groups", "groups", "auth.group"),
            Page("Customers' webhooks", "webhook", "webhooks.endpoint"),
            Page("Webhook deliveries", "outbox", "webhooks.delivery"),
        ),
        folded=True,
    ),
)


def sections(request) -> list[dict]:
    """The sections and pages ``request.user`` may open (sections with none left out)."""
    shown = []
    for section in SECTIONS:
        pages = [
            {"title": page.title, "icon": page.icon, "link": page.url()}
            for page in section.pages
            if page.allowed(request)
        ]
        if pages:
            shown.append({"title": section.title, "folded": section.folded, "items": pages})
    return shown


def sidebar(request) -> list[dict]:
    """django-unfold's SIDEBAR navigation: the same sections, the folded ones collapsible."""
    return [
        {"title": section["title"], "collapsible": section["folded"], "items": section["items"]}
        for section in sections(request)
    ]
