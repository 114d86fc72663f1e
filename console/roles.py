"""The two staff roles, as Django groups.

Owner: everything in the panel, its staff and roles, the schedule of background work and login lockouts.
Support: sees orders and customers, answers support tickets, resolves reviews without moving money (the
order and refill actions need the change permission on them; refunds by hand need ``moves_money``), unlocks
customers locked out by failed logins and posts announcements; no prices, providers, balances, payments or the
terms, FAQ and privacy pages. Each reads the audit trail: the Owner all of it, Support only its own rows.

Kept in step after every ``migrate`` (and test-database flush), so permissions of models added later reach
the Owner too.
"""

from django.apps import apps as global_apps

# Two-factor devices (otp_*) are the Owner's: removing a lost phone's device lets its user set up anew.
OWNER_APPS = [
    "panels",
    "catalogue",
    "orders",
    "billing",
    "referrals",
    "api",
    "accounts",
    "auth",
    "django_celery_beat",
    "axes",
    "otp_totp",
    "otp_static",
    "audit",
    "support",
    "notifications",
    "webhooks",
    "content",
]
SUPPORT = [
    ("orders", "view_order"),
    ("orders", "change_order"),
    ("orders", "view_orderevent"),
    ("orders", "view_refill"),
    ("orders", "change_refill"),  # resolving refill requests of unknown outcome
    ("auth", "view_user"),
    ("accounts", "view_profile"),
    ("api", "view_apikey"),
    ("api", "view_apirequest"),
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),  # unlocking a locked-out customer
    ("audit", "view_auditentry"),  # its own rows only: seeing everyone's is the Owner's
    # Support tickets: answering, assigning, notes and the order requests carried out from them (the
    # change permission); the canned replies it answers with, kept up to date (not deleted).
    ("support", "view_ticket"),
    ("support", "change_ticket"),
    ("support", "view_cannedreply"),
    ("support", "add_cannedreply"),
    ("support", "change_cannedreply"),
    # Posting announcements (an outage, a delay) is Support's daily work; the pages and prices are not.
    ("content", "view_announcement"),
    ("content", "add_announcement"),
    ("content", "change_announcement"),
    ("content", "delete_announcement"),
]


def sees_providers(user) -> bool:
    """Whether ``user`` may see the provider side of the business: which provider and provider service
    serves an order, the provider's ids, statuses and words, costs and the rates an order was priced at.
    The Owner may (``panels.view_provider``); Support may not, wherever orders, refills and their history
    are shown. One rule, derived from a permission, so a new role gets it right by its permissions."""
    return user.has_perm("panels.view_provider")


def moves_money(user) -> bool:
    """Whether ``user`` may move a customer's money on their own word: adjust a balance, or refund an order by
    hand (refund in full, settle, mark completed or partial, cancel an order placed upstream). The Owner may
    (``billing.change_account``); Support may not: it resolves what needs no money (attach, resend, mark
    resolved, set figures) and leaves the rest to the Owner. One rule for the admin's actions, the review
    queue, the customer page and the services that refund."""
    return user is not None and user.has_perm("billing.change_account")


def roles_sync(apps=global_apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    owner, _ = Group.objects.get_or_create(name="Owner")
    owner.permissions.set(Permission.objects.filter(content_type__app_label__in=OWNER_APPS))
    support, _ = Group.objects.get_or_create(name="Support")
    wanted = Permission.objects.none()
    for app_label, codename in SUPPORT:
        wanted |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    support.permissions.set(wanted)
