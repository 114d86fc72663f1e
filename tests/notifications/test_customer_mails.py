"""Customers are mailed what happened to their orders, refills, payments and balance: once per event, only
after it commits, as they chose, in their language, with a one-click unsubscribe (issue 15)."""

import datetime
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import transaction

from accounts.models import Profile
from billing.models import TopUp
from billing.services import account_for, balance_change
from billing.topups import topup_approve, topup_reject, topup_request
from catalogue.models import CurrencyRate
from notifications.customers import CustomerEvent, customer_events, notification_send, preferences_update
from notifications.kinds import CustomerKind as K
from notifications.models import Notification
from orders.models import Order, Refill
from orders.services import order_apply_status, order_cancel
from panels.client import RemoteOrderStatus
from panels.normalize import OrderStatus
from reseller.states import transition
from tests.builders import order_in

pytestmark = pytest.mark.django_db
S = Order.Status


def cancelable(on_sale):
    service = on_sale(cancel=True)
    service.cancel = True
    service.save(update_fields=["cancel"])
    return service


@pytest.fixture
def sent_order(on_sale, erin):
    """An order of erin's, sent and in progress at its provider."""
    order = order_in(S.IN_PROGRESS, user=erin, service=cancelable(on_sale), provider_order_id="777")
    return order


def provider_says(order: Order, status: OrderStatus, remains: int | None = None) -> None:
    """The provider's status answer for ``order``, applied as the status sync applies it."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        order_apply_status(
            order=locked, remote=RemoteOrderStatus(status, status.value, None, "", 10, remains)
        )


def test_a_completed_order_is_mailed_once_only_after_it_commits(committed, sent_order, erin, panel_url):
    def complete():
        provider_says(sent_order, OrderStatus.COMPLETED, remains=0)
        assert mail.outbox == []  # not while the transaction is open

    committed(complete)
    committed(lambda: provider_says(sent_order, OrderStatus.COMPLETED, remains=0))  # said again: no move

    [sent] = mail.outbox
    assert sent.to == ["erin@example.com"]
    assert sent.subject == f"Order #{sent_order.pk} is completed"
    assert f"Your order #{sent_order.pk} (Default service) is completed." in sent.body
    assert f"{panel_url}/orders/{sent_order.pk}/" in sent.body
    [(html, kind)] = sent.alternatives
    assert kind == "text/html" and f'href="{panel_url}/orders/{sent_order.pk}/"' in html
    assert Notification.objects.get().status == Notification.Status.SENT


def test_a_partial_order_says_what_was_refunded(committed, sent_order, erin):
    committed(lambda: provider_says(sent_order, OrderStatus.PARTIAL, remains=sent_order.units // 2))
    sent_order.refresh_from_db()
    assert sent_order.refunded > 0

    [sent] = mail.outbox
    refund = f"{sent_order.refunded} USD"
    assert sent.subject == f"Order #{sent_order.pk} was partly delivered: {refund} refunded"
    assert f"{sent_order.units // 2} were not delivered, and {refund} was refunded" in sent.body
    assert f'<strong><span class="money">{refund}</span></strong>' in sent.alternatives[0][0]


def test_amounts_are_in_the_currency_the_customer_sees_on_the_storefront(committed, sent_order, erin):
    """As ``{% money %}`` shows them there (storefront.money): converted at the stored rate and marked
    approximate, the panel's exact figure beside a refund in the HTML part."""
    CurrencyRate.objects.create(currency="EUR", rate=D("1.1"))  # 1 EUR buys 1.10 USD
    Profile.objects.update_or_create(user=erin, defaults={"display_currency": "EUR"})
    committed(lambda: provider_says(sent_order, OrderStatus.PARTIAL, remains=sent_order.units // 2))
    sent_order.refresh_from_db()

    euros = (sent_order.refunded / D("1.1")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    [sent] = mail.outbox
    assert sent.subject == f"Order #{sent_order.pk} was partly delivered: ≈ {euros} EUR refunded"
    assert f"and ≈ {euros} EUR was refunded" in sent.body and "USD" not in sent.body
    html = sent.alternatives[0][0]
    assert f"≈ {euros} EUR" in html and f"({sent_order.refunded} USD)" in html

    # The threshold and balance of the low-balance mail alike.
    preferences_update(user=erin, wanted=set(K.values), low_balance_threshold=D("99"))
    committed(lambda: balance_change(account=account_for(erin), amount=D(-10), kind="charge"))
    low = mail.outbox[-1]
    assert low.subject == "Your balance is below ≈ 90.00 EUR"
    balance = (account_for(erin).balance / D("1.1")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert f"Your balance is ≈ {balance} EUR" in low.body


def test_a_canceled_order_is_mailed_with_its_full_refund(committed, on_sale, erin):
    order = order_in(S.QUEUED, user=erin, service=cancelable(on_sale))

    committed(lambda: order_cancel(order=order, actor=erin))  # not sent yet: canceled and refunded here

    [sent] = mail.outbox
    assert sent.subject == f"Order #{order.pk} was canceled: {order.charge} USD refunded"
    assert Notification.objects.get().kind == K.ORDER_CANCELED


def test_a_move_customers_do_not_see_tells_nobody(committed, on_sale, erin):
    order = order_in(S.QUEUED, user=erin, service=cancelable(on_sale))
    committed(lambda: transition(order, S.SENDING, message="claimed"))  # still "Pending" to the customer
    committed(lambda: transition(order, S.PENDING, message="accepted"))
    committed(lambda: transition(order, S.IN_PROGRESS, message="started"))
    assert mail.outbox == [] and not Notification.objects.exists()


def test_a_rolled_back_move_sends_nothing(committed, sent_order):
    class Crash(Exception):
        pass

    def complete_then_crash():
        with transaction.atomic():
            provider_says(sent_order, OrderStatus.COMPLETED, remains=0)
            raise Crash

    with pytest.raises(Crash):
        committed(complete_then_crash)
    assert mail.outbox == [] and not Notification.objects.exists()
    sent_order.refresh_from_db()
    assert sent_order.status == S.IN_PROGRESS


def test_a_done_refill_is_mailed(committed, on_sale, erin):
    order = order_in(S.COMPLETED, user=erin, service=cancelable(on_sale), provider_order_id="778")
    refill = Refill.objects.create(order=order, status=Refill.Status.PENDING, provider_refill_id="r1")

    committed(lambda: transition(refill, Refill.Status.IN_PROGRESS, message="started"))
    committed(lambda: transition(refill, Refill.Status.COMPLETED, message="done"))

    [sent] = mail.outbox
    assert sent.subject == f"The refill of order #{order.pk} is done"


def test_an_event_announced_twice_and_a_task_run_twice_mail_once(committed, sent_order, erin):
    def announce():
        return customer_events(
            [
                CustomerEvent(
                    user_id=erin.pk,
                    kind=K.ORDER_COMPLETED,
                    key=f"order:{sent_order.pk}:x",
                    target_id=sent_order.pk,
                )
            ]
        )

    [first] = committed(announce)
    assert committed(announce) == []  # the same event: recorded once

    assert notification_send(notification_id=first) == Notification.Status.SENT  # a redelivered task
    assert len(mail.outbox) == 1


def test_a_kind_turned_off_in_the_settings_is_not_mailed(client, committed, erin, admin_user):
    client.force_login(erin)
    page = client.get("/accounts/notifications/").content.decode()
    assert 'value="topup_rejected"' in page and "checked" in page
    wanted = [kind for kind in K.values if kind != K.TOPUP_REJECTED]
    response = client.post("/accounts/notifications/", {"wanted": wanted, "low_balance_threshold": ""})
    assert response.status_code == 302

    rejected = topup_request(user=erin, amount=D(40), method="manual", reference="BANK-1")
    committed(lambda: topup_reject(topup=rejected, actor=admin_user, note="Nothing came"))
    credited = topup_request(user=erin, amount=D(40), method="manual", reference="BANK-2")
    committed(lambda: topup_approve(topup=credited, actor=admin_user))

    assert [message.subject for message in mail.outbox] == ["40.0000 USD added to your balance"]
    skipped = Notification.objects.get(kind=K.TOPUP_REJECTED)
    assert skipped.status == Notification.Status.SKIPPED


def test_mails_are_written_in_the_customers_language_and_time_zone(committed, sent_order, erin, settings):
    settings.LANGUAGES = [("en", "English"), ("de", "Deutsch")]
    Profile.objects.update_or_create(user=erin, defaults={"language": "de", "timezone": "Europe/Berlin"})
    placed = datetime.datetime(2026, 3, 5, 13, 30, tzinfo=datetime.UTC)
    Order.objects.filter(pk=sent_order.pk).update(created_at=placed)

    committed(lambda: provider_says(sent_order, OrderStatus.COMPLETED, remains=0))

    [sent] = mail.outbox
    assert (
        "5. März 2026 14:30" in sent.body
    )  # German dates, Berlin time (the English: "March 5, 2026, 1:30 p.m.")


def test_mails_are_translated_into_the_customers_language(committed, sent_order, erin, panel_url):
    Profile.objects.update_or_create(user=erin, defaults={"language": "es"})

    committed(lambda: provider_says(sent_order, OrderStatus.COMPLETED, remains=0))

    [sent] = mail.outbox
    assert sent.subject == f"El pedido #{sent_order.pk} se ha completado"
    assert f"Tu pedido #{sent_order.pk} (Default service) se ha completado." in sent.body
    [(html, _)] = sent.alternatives
    assert "(«Un pedido se completa»)" in html and ">Darse de baja</a>" in html  # the footer too


def test_the_language_is_a_setting_of_the_account(client, erin):
    client.force_login(erin)
    page = client.get("/accounts/settings/").content.decode()
    assert 'name="language"' in page and "/accounts/notifications/" in page
    data = {"email": erin.email, "timezone": "Europe/Berlin", "language": "en"}
    assert client.post("/accounts/settings/", data).status_code == 302
    assert client.post("/accounts/settings/", data | {"language": "xx"}).status_code == 200  # not offered
    assert Profile.objects.get(user=erin).language == "en"


def test_a_mail_that_fails_to_go_is_retried_and_sent_once(committed, sent_order, settings):
    from tests.notifications.support import FlakyBackend

    settings.EMAIL_BACKEND = "tests.notifications.support.FlakyBackend"
    FlakyBackend.failures = 2
    committed(lambda: provider_says(sent_order, OrderStatus.COMPLETED, remains=0))

    assert len(mail.outbox) == 1 and FlakyBackend.failures == 0
    told = Notification.objects.get()
    assert told.status == Notification.Status.SENT and told.attempts == 3


def test_a_mail_that_fails_in_a_batch_holds_none_back_and_each_goes_once(
    committed, sent_order, erin, settings
):
    """A transaction's events go in one message; the first fails on its way: the others are sent first, then it
    is retried alone."""
    from tests.notifications.support import FlakyBackend

    settings.EMAIL_BACKEND = "tests.notifications.support.FlakyBackend"
    FlakyBackend.failures = 1
    events = [
        CustomerEvent(user_id=erin.pk, kind=K.ORDER_COMPLETED, key=f"event:{n}", target_id=sent_order.pk)
        for n in range(3)
    ]
    first, *others = committed(lambda: customer_events(events))

    assert len(mail.outbox) == 3
    told = {n.pk: n for n in Notification.objects.all()}
    assert {n.status for n in told.values()} == {Notification.Status.SENT}
    assert [told[pk].attempts for pk in (first, *others)] == [2, 1, 1]
    assert told[first].sent_at > max(told[pk].sent_at for pk in others)


def test_no_mail_to_a_customer_without_an_address(committed, on_sale, customer):
    order = order_in(S.QUEUED, user=customer, service=cancelable(on_sale))
    committed(lambda: order_cancel(order=order, actor=customer))
    assert mail.outbox == [] and Notification.objects.get().status == Notification.Status.SKIPPED


# --- the low balance -----------------------------------------------------------------------------------


def test_a_low_balance_is_told_once_per_fall_below_the_threshold(client, committed, erin):
    client.force_login(erin)
    wanted = list(K.values)
    client.post("/accounts/notifications/", {"wanted": wanted, "low_balance_threshold": "50"})
    account = account_for(erin)

    def change(amount):
        committed(lambda: balance_change(account=account, amount=D(amount), kind="charge"))

    change(-30)  # 70: above
    assert mail.outbox == []
    change(-30)  # 40: below — told
    change(-5)  # 35: still below — not again
    assert [message.subject for message in mail.outbox] == ["Your balance is below 50.0000 USD"]
    assert "Your balance is 40.0000 USD" in mail.outbox[0].body
    change(100)  # 135: back above
    change(-100)  # 35: below again — told again
    assert len(mail.outbox) == 2 and "Your balance is 35.0000 USD" in mail.outbox[1].body


def test_no_low_balance_mail_without_a_threshold(committed, erin):
    committed(lambda: balance_change(account=account_for(erin), amount=D(-99), kind="charge"))
    assert mail.outbox == []


# --- the one-click unsubscribe -------------------------------------------------------------------------


def _unsubscribe_link(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<https://panel.example.com/notifications/unsubscribe/") and header.endswith(">")
    return header[1:-1]


def test_every_mail_carries_a_one_click_unsubscribe_for_its_kind(committed, sent_order, panel_url):
    committed(lambda: provider_says(sent_order, OrderStatus.COMPLETED, remains=0))
    [sent] = mail.outbox
    link = _unsubscribe_link(sent)
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in sent.body and f'href="{link}"' in sent.alternatives[0][0]
    message = sent.message()  # the headers as they leave
    assert message["List-Unsubscribe"] == f"<{link}>"


def test_one_click_unsubscribes_from_that_kind_only_and_get_only_asks(
    client, committed, on_sale, sent_order, erin, panel_url
):
    committed(lambda: provider_says(sent_order, OrderStatus.COMPLETED, remains=0))
    path = _unsubscribe_link(mail.outbox[0]).removeprefix(panel_url)

    page = client.get(path)  # a link scanner, or the customer before the button
    assert page.status_code == 200 and "Stop mails to erin@example.com" in page.content.decode()
    csrf_checking = type(client)(enforce_csrf_checks=True)  # a mail client's POST has no CSRF token
    done = csrf_checking.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200 and "no more mails" in done.content.decode()

    other = order_in(S.IN_PROGRESS, user=erin, service=sent_order.service, provider_order_id="779")
    committed(lambda: provider_says(other, OrderStatus.COMPLETED, remains=0))  # unsubscribed
    queued = order_in(S.QUEUED, user=erin, service=sent_order.service)
    committed(lambda: order_cancel(order=queued, actor=erin))  # another kind: still mailed
    assert [message.subject.split(":")[0] for message in mail.outbox[1:]] == [
        f"Order #{queued.pk} was canceled"
    ]


def test_a_forged_tampered_or_expired_unsubscribe_link_is_refused(client, erin, monkeypatch, settings):
    from notifications.models import CustomerPreferences
    from notifications.unsubscribe import unsubscribe_token

    good = unsubscribe_token(user=erin, kind=K.ORDER_COMPLETED)
    tampered = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    from django.core import signing

    forged = signing.dumps({"u": erin.pk, "k": K.ORDER_COMPLETED}, salt="another salt", compress=True)
    with monkeypatch.context() as past:
        old = signing.time.time() - (settings.UNSUBSCRIBE_LINK_DAYS + 1) * 24 * 3600
        past.setattr(signing.time, "time", lambda: old)
        expired = unsubscribe_token(user=erin, kind=K.ORDER_COMPLETED)

    for token in [tampered, forged, expired, "garbage"]:
        path = f"/notifications/unsubscribe/{token}/"
        assert client.get(path).status_code == 400
        assert (
            client.post(
                path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
            ).status_code
            == 400
        )
    assert not CustomerPreferences.objects.filter(user=erin).exclude(muted=[]).exists()
    # The genuine one works.
    client.post(f"/notifications/unsubscribe/{good}/")
    assert CustomerPreferences.objects.get(user=erin).muted == [K.ORDER_COMPLETED]


def test_without_panel_url_a_mail_has_no_links_but_says_where_to_turn_it_off(committed, admin_user, erin):
    topup = topup_request(user=erin, amount=D(40), method="manual", reference="BANK-3")
    committed(lambda: topup_approve(topup=topup, actor=admin_user))
    [sent] = mail.outbox
    assert "http" not in sent.body and "List-Unsubscribe" not in sent.extra_headers
    assert "turn these mails off in your account settings" in sent.body
    assert TopUp.objects.get().status == TopUp.Status.CREDITED


# --- the parts the support app uses, and the housekeeping --------------------------------------------------


def test_ticket_answers_go_the_same_way_and_honour_their_switch(erin, panel_url):
    from django.utils.translation import gettext_lazy as _

    from notifications.customers import customer_notify, unsubscribe

    def answer() -> bool:  # as the support app's mail task calls it (its own template in real life)
        return customer_notify(
            user=erin,
            kind=K.TICKET_ANSWERED,
            subject=_("Ticket #%(number)s was answered"),
            subject_params={"number": 7},
            template="notifications/emails/low_balance",
            context={"balance": 1, "threshold": 2, "currency": "USD"},
        )

    assert answer() is True
    [sent] = mail.outbox
    assert sent.subject == "Ticket #7 was answered"
    assert _unsubscribe_link(sent) in sent.body and '"Support answers your ticket"' in sent.body
    unsubscribe(user=erin, kind=K.TICKET_ANSWERED)
    assert answer() is False and len(mail.outbox) == 1
    with pytest.raises(ValueError, match="Unknown kind"):
        customer_notify(user=erin, kind="ticket_closed", subject="x", template="x", context={})


def test_a_notification_whose_task_was_lost_is_queued_again_and_old_ones_are_pruned(
    eager_celery, sent_order, erin
):
    from django.utils import timezone

    from notifications.customers import notifications_prune, notifications_requeue_lost

    long_ago = timezone.now() - datetime.timedelta(minutes=20)
    lost = Notification.objects.create(
        kind=K.ORDER_COMPLETED, key="order:x", user=erin, target_id=sent_order.pk, created_at=long_ago
    )
    fresh = Notification.objects.create(
        kind=K.ORDER_COMPLETED, key="order:y", user=erin, target_id=sent_order.pk
    )

    assert notifications_requeue_lost() == 1  # the fresh one may still be on its way
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == Notification.Status.SENT and fresh.status == Notification.Status.PENDING
    assert len(mail.outbox) == 1

    assert notifications_prune(now=timezone.now() + datetime.timedelta(days=89)) == 0
    assert notifications_prune(now=timezone.now() + datetime.timedelta(days=91)) == 2
