"""What the API hears: a key or a user saved or deleted anywhere (the admin, a cascade) makes the cached live
keys stale (``api.services.live_keys``)."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from api.models import ApiKey
from api.services import live_keys


@receiver(post_save, sender=ApiKey, dispatch_uid="api-key-saved")
@receiver(post_delete, sender=ApiKey, dispatch_uid="api-key-deleted")
@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-user-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-user-deleted")
def _keys_changed(sender, **kwargs):
    live_keys.forget()
