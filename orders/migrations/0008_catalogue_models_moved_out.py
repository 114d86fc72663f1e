"""Service, MarkupRule, CurrencyRate, CustomerPricing and CustomerServicePrice now belong to ``catalogue``
(its 0001 took them over with their tables): forgotten here in the state only, no table or row touched, and
``Order.service`` points at ``catalogue.Service`` (the same table, so the same foreign key)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
        ("orders", "0007_service_dripfeed_override"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="catalogue.service",
                    ),
                ),
                migrations.DeleteModel(name="CustomerServicePrice"),
                migrations.DeleteModel(name="CustomerPricing"),
                migrations.DeleteModel(name="MarkupRule"),
                migrations.DeleteModel(name="Service"),
                migrations.DeleteModel(name="CurrencyRate"),
            ]
        )
    ]
