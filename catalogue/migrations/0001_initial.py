"""The catalogue's models as they were in ``orders`` (0007), taken over in the migration state only: their
tables keep their names (``Meta.db_table``) and rows. ``orders`` 0008 lets go of them."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('panels', '0003_provider_dripfeed_setting_and_dripfeed_not_stated'),
        ('orders', '0007_service_dripfeed_override'),  # the tables exist, as they are here
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name='CurrencyRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=8, unique=True)),
                ('rate', models.DecimalField(decimal_places=8, max_digits=20, validators=[django.core.validators.MinValueValidator(Decimal('1E-8'))])),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'db_table': 'orders_currencyrate',
            },
        ),
        migrations.CreateModel(
            name='CustomerPricing',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('discount_percent', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))])),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='pricing', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'orders_customerpricing',
            },
        ),
        migrations.CreateModel(
            name='Service',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=255)),
                ('category', models.CharField(max_length=255)),
                ('description', models.TextField(blank=True)),
                ('type', models.CharField(max_length=64)),
                ('min_quantity', models.PositiveBigIntegerField(help_text="Kept within the provider's min and max.", verbose_name='min')),
                ('max_quantity', models.PositiveBigIntegerField(verbose_name='max')),
                ('refill', models.BooleanField(default=False, verbose_name='refill allowed')),
                ('refill_days', models.PositiveSmallIntegerField(default=30, help_text='Refills allowed this long after completion.')),
                ('cancel', models.BooleanField(default=False, verbose_name='cancel allowed')),
                ('dripfeed', models.CharField(blank=True, choices=[('', 'As the provider and its drip-feed setting say'), ('on', 'On'), ('off', 'Off')], default='', help_text='Whether customers may order runs and interval (Default services only).', max_length=8, verbose_name='drip-feed')),
                ('price', models.DecimalField(decimal_places=4, help_text='Per 1000 (per package for package types), panel currency.', max_digits=16)),
                ('manual_price', models.BooleanField(default=False, help_text='Set by hand: never changed by a sync.')),
                ('status', models.CharField(choices=[('active', 'Active'), ('paused', 'Paused'), ('disabled', 'Disabled by the operator')], default='active', max_length=16)),
                ('paused_by_sync', models.BooleanField(default=False, editable=False)),
                ('pause_reason', models.CharField(blank=True, max_length=255)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('provider_service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='storefront', to='panels.providerservice')),
            ],
            options={
                'db_table': 'orders_service',
                'ordering': ['category', 'name'],
            },
        ),
        migrations.CreateModel(
            name='CustomerServicePrice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('price', models.DecimalField(decimal_places=4, max_digits=16)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='custom_prices', to=settings.AUTH_USER_MODEL)),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='custom_prices', to='catalogue.service')),
            ],
            options={
                'db_table': 'orders_customerserviceprice',
            },
        ),
        migrations.CreateModel(
            name='MarkupRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('category', models.CharField(blank=True, help_text='Empty: every category.', max_length=255)),
                ('percent', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=7, validators=[django.core.validators.MinValueValidator(Decimal('-99'))])),
                ('fixed', models.DecimalField(decimal_places=4, default=Decimal('0'), help_text='Added per 1000, after the percent.', max_digits=16)),
                ('rounding', models.CharField(choices=[('0.01', 'Up to the cent'), ('0.001', 'Up to 0.001'), ('0.0001', 'Up to 0.0001'), ('0.05', 'Up to 0.05'), ('1', 'Up to a whole unit')], default='0.01', max_length=8)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('provider', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='panels.provider')),
                ('provider_service', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='panels.providerservice')),
            ],
            options={
                'db_table': 'orders_markuprule',
                'constraints': [models.UniqueConstraint(fields=('provider', 'category', 'provider_service'), name='one_markup_rule_per_scope', nulls_distinct=False)],
            },
        ),
        migrations.AddConstraint(
            model_name='service',
            constraint=models.CheckConstraint(condition=models.Q(('min_quantity__lte', models.F('max_quantity'))), name='service_min_le_max'),
        ),
        migrations.AddConstraint(
            model_name='customerserviceprice',
            constraint=models.UniqueConstraint(fields=('user', 'service'), name='one_custom_price_per_service'),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
