"""Customers in the admin: who they are, their balance, their prices, and disabling them."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.models import Profile
from accounts.services import customers_disable, customers_enable
from audit.services import audit_changes, audit_record
from catalogue.admin import CustomPriceForm, DiscountForm, custom_price_margin, discount_lowest_margin
from catalogue.models import CustomerPricing, CustomerServicePrice
from reseller.admin_tools import FINITE_DECIMALS, CustomerPageLink, ModelAdmin, StackedInline, TabularInline
from reseller.csv_export import CsvExportAdmin

User = get_user_model()


class ProfileInline(StackedInline):
    model = Profile
    can_delete = False


class PricingInline(StackedInline):
    model = CustomerPricing
    form = DiscountForm
    formfield_overrides = FINITE_DECIMALS
    can_delete = False
    verbose_name_plural = "discount"
    readonly_fields = ["lowest_margin"]

    @admin.display(description="Lowest margin it gives")
    def lowest_margin(self, pricing):
        return discount_lowest_margin(pricing)


class CustomPriceInline(TabularInline):
    model = CustomerServicePrice
    form = CustomPriceForm
    formfield_overrides = FINITE_DECIMALS
    extra = 0
    raw_id_fields = ["service"]
    verbose_name_plural = "custom prices (per 1000, or per package)"
    readonly_fields = ["margin"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service__provider_service__provider")

    @admin.display(description="Margin")
    def margin(self, custom_price):
        return custom_price_margin(custom_price)


@admin.register(Profile)
class ProfileAdmin(CustomerPageLink, ModelAdmin):
    list_display = ["user", "timezone"]
    search_fields = ["user__username"]


admin.site.unregister(User)

# Django's user page fields that make and shape staff: never on a customer's page. Staff are added as such on
# *Add user* (the Owner's), with their role; a customer's account is not turned into an operator's.
STAFF_FIELDS = frozenset({"is_staff", "is_superuser", "groups", "user_permissions"})


@admin.register(User)
class CustomerAdmin(CustomerPageLink, CsvExportAdmin, UserAdmin, ModelAdmin):
    customer_field = ""
    # Django's user forms drawn with the theme's widgets.
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = [
        "username",
        "customer_page",
        "email",
        "is_active",
        "is_staff",
        "balance",
        "order_count",
        "date_joined",
    ]
    add_fieldsets = [*UserAdmin.add_fieldsets, ("Staff", {"fields": ["is_staff", "groups"]})]
    list_filter = ["is_active", "is_staff", "groups", "date_joined"]
    list_select_related = ["account"]
    inlines = [ProfileInline, PricingInline, CustomPriceInline]
    actions = ["disable", "enable"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(order_count=Count("orders"))

    def csv_columns(self, request):
        # Never the password hash nor any key; the balance only for who may see balances.
        columns = [
            ("id", lambda u: u.pk),
            ("username", lambda u: u.username),
            ("email", lambda u: u.email),
            ("active", lambda u: u.is_active),
            ("staff", lambda u: u.is_staff),
            ("orders", lambda u: u.order_count),
            ("date_joined", lambda u: u.date_joined.isoformat()),
            ("last_login", lambda u: u.last_login.isoformat() if u.last_login else ""),
        ]
        if request.user.has_perm("billing.view_account"):
            columns.append(("balance", lambda u: getattr(getattr(u, "account", None), "balance", "")))
        return columns

    @admin.display(description="Balance", ordering="account__balance")
    def balance(self, user):
        account = getattr(user, "account", None)
        if account is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_account_change", args=[account.pk]), account.balance
        )

    @admin.display(description="Orders", ordering="order_count")
    def order_count(self, user):
        return format_html(
            '<a href="{}?user__id__exact={}">{}</a>',
            reverse("admin:orders_order_changelist"),
            user.pk,
            user.order_count,
        )

    def get_list_display(self, request):
        # Support staff see customers, not their money.
        shown = super().get_list_display(request)
        return (
            shown if request.user.has_perm("billing.view_account") else [n for n in shown if n != "balance"]
        )

    @admin.display(description="Customer page")
    def customer_page(self, user):
        return format_html('<a href="{}">Customer page</a>', reverse("console:customer", args=[user.pk]))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        hidden = set() if obj.is_staff else set(STAFF_FIELDS)
        if not self.has_change_permission(request, obj):
            hidden.add("password")  # read-only staff: its help leads to a form they may not use
        shown = [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]
        return [(name, opts) for name, opts in shown if opts["fields"]]

    def get_inlines(self, request, obj):
        # Support staff see customers, not their prices.
        return self.inlines if request.user.has_perm("catalogue.view_customerpricing") else [ProfileInline]

    def user_change_password(self, request, id, form_url=""):
        """Django's password page, recorded in the audit trail: that the password changed, never what to."""
        user = self.get_object(request, unquote(id))
        before = user.password if user is not None else None
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if user is not None and request.method == "POST":
                user.refresh_from_db(fields=["password"])
                changes = audit_changes({"password": before}, {"password": user.password})
                if changes:
                    audit_record(actor=request.user, verb="change_password", target=user, changes=changes)
        return response

    @admin.action(description="Disable: no log in, API keys revoked", permissions=["change"])
    def disable(self, request, queryset):
        count = customers_disable(users=queryset.exclude(pk=request.user.pk), actor=request.user)
        self.message_user(request, f"{count} account(s) disabled.", messages.SUCCESS)

    @admin.action(description="Enable again", permissions=["change"])
    def enable(self, request, queryset):
        self.message_user(
            request,
            f"{customers_enable(users=queryset, actor=request.user)} account(s) enabled.",
            messages.SUCCESS,
        )


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin, ModelAdmin):
    @admin.action(description="Clean up expired attempts")
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes' action reads the time its login handler stamps on a request: a 500 without it.
        request.axes_attempt_time = timezone.now()
        with transaction.atomic():
            audit_record(actor=request.user, verb="cleanup_expired_attempts", target=AccessAttempt)
            return super().cleanup_expired_attempts(request, queryset)
