"""What the notifications hear: status moves customers see (``public_status_changed``), balance changes
(``billing.services.balance_changed``), new manual top-ups and new support tickets. Each is heard inside the
change's transaction and tells anyone only once it commits; the first two are heard once for all the rows a
transaction changed together (a status sync's batch), in a fixed number of statements."""

from django.db.models import prefetch_related_objects
from django.db.models.signals import post_save
from django.dispatch import receiver

from billing.models import TopUp
from billing.services import balance_changed
from notifications.customers import CustomerEvent, customer_events, low_balance_check
from notifications.kinds import CustomerKind as K
from notifications.operators import ticket_opened_alert, topup_waiting_alert
from orders.models import Order, Refill
from panels.normalize import OrderStatus, RefillStatus
from reseller.states import public_status_changed
from support.signals import ticket_opened

# Per model, the public status (as ``public_status`` spells it) a customer is mailed about.
TOLD = {
    Order: {
        OrderStatus.COMPLETED: K.ORDER_COMPLETED,
        OrderStatus.PARTIAL: K.ORDER_PARTIAL,
        OrderStatus.CANCELED: K.ORDER_CANCELED,
    },
    Refill: {RefillStatus.COMPLETED: K.REFILL_COMPLETED},
    TopUp: {
        TopUp.Status.CREDITED.label: K.TOPUP_CREDITED,
        TopUp.Status.REJECTED.label: K.TOPUP_REJECTED,
        TopUp.Status.REVERSED.label: K.TOPUP_REVERSED,
    },
}


@receiver(public_status_changed, dispatch_uid="notifications-status")
def _status_changed(sender, changes, **kwargs):
    told = TOLD.get(sender, {})
    if sender is Refill:  # a refill's customer is its order's: one query for all of them
        prefetch_related_objects([change.instance for change in changes], "order")
    customer_events(
        CustomerEvent(
            user_id=change.instance.customer_id,
            kind=kind,
            key=f"{sender._meta.model_name}:{change.instance.pk}:{kind}",
            target_id=change.instance.pk,
        )
        for change in changes
        if (kind := told.get(change.after)) is not None
    )


@receiver(balance_changed, dispatch_uid="notifications-low-balance")
def _balance_changed(sender, entries, **kwargs):
    low_balance_check(entries=entries)


@receiver(post_save, sender=TopUp, dispatch_uid="notifications-topup-waiting")
def _topup_saved(sender, instance, created, **kwargs):
    if created and instance.method == TopUp.Method.MANUAL and instance.status == TopUp.Status.PENDING:
        topup_waiting_alert(topup=instance)


@receiver(ticket_opened, dispatch_uid="notifications-ticket-opened")
def _ticket_opened(sender, ticket, **kwargs):
    ticket_opened_alert(ticket=ticket)
