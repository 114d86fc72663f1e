"""The staff roles Owner and Support (see ``console/roles.py``)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from console.roles import roles_sync


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


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
