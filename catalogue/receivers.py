"""What the catalogue hears: a customer's custom price or discount saved or deleted anywhere (the admin, a
customer's page, a cascade) makes the cached terms stale (``catalogue.pricing.customer_terms``)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalogue.models import CustomerPricing, CustomerServicePrice
from catalogue.pricing import customer_terms


@receiver(post_save, sender=CustomerServicePrice, dispatch_uid="customer-price-saved")
@receiver(post_delete, sender=CustomerServicePrice, dispatch_uid="customer-price-deleted")
@receiver(post_save, sender=CustomerPricing, dispatch_uid="customer-discount-saved")
@receiver(post_delete, sender=CustomerPricing, dispatch_uid="customer-discount-deleted")
def _terms_changed(sender, **kwargs):
    customer_terms.forget()
