"""Every service existing before routes gets one route: the provider service it was sold from."""

from django.db import migrations


def one_route_each(apps, schema_editor):
    Service = apps.get_model("catalogue", "Service")
    ServiceRoute = apps.get_model("catalogue", "ServiceRoute")
    existing = set(ServiceRoute.objects.values_list("service_id", flat=True))
    ServiceRoute.objects.bulk_create(
        ServiceRoute(service_id=service_id, provider_service_id=provider_service_id, position=0)
        for service_id, provider_service_id in Service.objects.values_list("pk", "provider_service_id")
        if service_id not in existing
    )


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0004_service_routes")]

    operations = [migrations.RunPython(one_route_each, migrations.RunPython.noop)]
