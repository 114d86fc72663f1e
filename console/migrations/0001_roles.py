"""The two staff roles as Django groups.

Owner: everything in the panel. Support: sees orders and customers and resolves reviews (the order actions need
the change permission on orders); no prices, providers, balances or payments.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OWNER_APPS = ["panels", "orders", "billing", "api", "accounts"]
SUPPORT = [
    ("orders", "view_order"),
    ("orders", "change_order"),
    ("orders", "view_orderevent"),
    ("orders", "view_refill"),
    ("auth", "view_user"),
    ("accounts", "view_profile"),
    ("api", "view_apikey"),
    ("api", "view_apirequest"),
]


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    owner, _ = Group.objects.get_or_create(name="Owner")
    owner.permissions.set(
        Permission.objects.filter(content_type__app_label__in=OWNER_APPS)
        | Permission.objects.filter(content_type__app_label="auth", content_type__model="user")
    )
    support, _ = Group.objects.get_or_create(name="Support")
    wanted = Permission.objects.none()
    for app_label, codename in SUPPORT:
        wanted |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    support.permissions.set(wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Owner", "Support"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("panels", "0002_status_sync_runs"),
        ("orders", "0005_order_review_resolved_at"),
        ("billing", "0003_topup"),
        ("api", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
