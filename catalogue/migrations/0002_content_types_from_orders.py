"""The moved models' content types follow them from ``orders`` to ``catalogue``: their permissions (and so
the Owner's group, and any user granted one by hand) and the admin's history stay attached, now spelled
``catalogue.change_service`` and so on."""

from django.db import migrations

MOVED = ["service", "markuprule", "currencyrate", "customerpricing", "customerserviceprice"]


def _relabel(apps, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        moving = ContentType.objects.filter(app_label=source, model=model).first()
        if moving is None:
            continue
        # One made for the target while both apps held the model in the migration state (a migration that
        # creates permissions may run in between) has no history yet: the one that moves replaces it.
        ContentType.objects.filter(app_label=target, model=model).delete()
        moving.app_label = target
        moving.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    _relabel(apps, source="orders", target="catalogue")


def backwards(apps, schema_editor):
    _relabel(apps, source="catalogue", target="orders")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),  # its permissions go with a deleted content type
        ("catalogue", "0001_initial"),
        ("orders", "0008_catalogue_models_moved_out"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
