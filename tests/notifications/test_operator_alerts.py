"""Operators are alerted by email and Telegram of what needs them — once per outage, not once a minute
(issue 15)."""

import logging
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from billing.topups import topup_request
from console.heartbeat import PERIODIC, SENDING, heartbeat_key, heartbeat_record
from notifications.conditions import CHECKING_SINCE, operator_conditions_check
from notifications.kinds import OperatorKind as K
from notifications.models import OperatorAlert, OperatorSettings
from notifications.operators import (
    operator_alert,
    operator_settings,
    provider_out_of_funds_alert,
)
from notifications.telegram import TelegramError, TelegramUnavailable, telegram_send
from orders.models import Order
from panels.models import ProviderCall, SyncRun
from panels.services import provider_upsert
from reseller.log import redact_secrets
from support.models import Ticket
from support.services import ticket_customer_reply, ticket_open
from tests.builders import order_in
from tests.staff import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def telegram_on(telegram):
    """The operator's settings pointing at the local Telegram."""
    OperatorSettings.objects.update_or_create(
        pk=1, defaults={"telegram_bot_token": telegram.token, "telegram_chat_id": telegram.chat_id}
    )
    return telegram


@pytest.fixture
def provider(db):
    provider, _ = provider_upsert(
        name="Upstream", api_url="http://127.0.0.1:9/api/v2", api_key="offline-key-0123456789"
    )
    return provider


def texts(telegram) -> list[str]:
    return [message["text"] for message in telegram.messages]


def test_ten_alerts_of_one_outage_send_one_message_and_a_new_one_after_the_quiet_period(
    committed, provider, telegram_on
):
    for _ in range(10):
        committed(lambda: provider_out_of_funds_alert(provider=provider, message="Not enough funds"))

    [sent] = mail.outbox
    assert sent.to == ["operator@example.com"] and "Provider Upstream is out of funds" in sent.subject
    assert (
        "The provider said: Not enough funds" in sent.body
        and f"/admin/panels/provider/{provider.pk}/" in sent.body
    )
    [message] = texts(telegram_on)
    assert message.startswith("Provider Upstream is out of funds: orders to it wait")
    assert OperatorAlert.objects.get().held_back == 9

    later = timezone.now() + timedelta(minutes=61)  # the quiet period (60 minutes) is over
    text = "Provider Upstream is out of funds again"
    committed(
        lambda: operator_alert(
            kind=K.PROVIDER_OUT_OF_FUNDS, subject=f"provider:{provider.pk}", text=text, now=later
        )
    )
    assert len(mail.outbox) == 2 and len(telegram_on.messages) == 2
    assert texts(telegram_on)[1] == f"{text}\n(9 more like this held back since the last message.)"


def test_the_quiet_period_is_per_subject_and_per_kind(committed, provider):
    other, _ = provider_upsert(
        name="Other", api_url="http://127.0.0.1:9/api/v2", api_key="offline-key-9876543210"
    )
    committed(lambda: provider_out_of_funds_alert(provider=provider, message="no funds"))
    committed(lambda: provider_out_of_funds_alert(provider=other, message="no funds"))
    committed(
        lambda: operator_alert(kind=K.PROVIDER_ERRORS, subject=f"provider:{provider.pk}", text="Failing")
    )
    assert len(mail.outbox) == 3


def test_an_alert_raised_in_a_rolled_back_transaction_sends_nothing(committed, provider):
    def raise_then_roll_back():
        with transaction.atomic():
            provider_out_of_funds_alert(provider=provider, message="no funds")
            transaction.set_rollback(True)

    committed(raise_then_roll_back)
    assert mail.outbox == [] and not OperatorAlert.objects.exists()
    committed(lambda: provider_out_of_funds_alert(provider=provider, message="no funds"))  # not held back
    assert len(mail.outbox) == 1


def test_each_channel_is_switched_per_kind(committed, provider, telegram_on):
    OperatorSettings.objects.filter(pk=1).update(
        email_kinds=[K.TOPUP_WAITING], telegram_kinds=[K.PROVIDER_OUT_OF_FUNDS]
    )
    committed(lambda: provider_out_of_funds_alert(provider=provider, message="no funds"))
    assert mail.outbox == [] and len(telegram_on.messages) == 1

    OperatorSettings.objects.filter(pk=1).update(email_kinds=[], telegram_kinds=[])
    later = timezone.now() + timedelta(days=1)
    committed(lambda: operator_alert(kind=K.PROVIDER_OUT_OF_FUNDS, subject="x", text="x", now=later))
    assert mail.outbox == [] and len(telegram_on.messages) == 1


def test_alert_mails_go_to_the_staff_who_opted_in_or_else_to_admins(committed, provider):
    owner = member("Owner")
    owner.email = "owner@example.com"
    owner.save()
    operator_settings().email_to.add(owner)
    committed(lambda: provider_out_of_funds_alert(provider=provider, message="no funds"))
    assert mail.outbox[0].to == ["owner@example.com"]


def test_a_manual_payment_waiting_alerts_once_it_is_committed(committed, customer, telegram_on):
    topup = committed(lambda: topup_request(user=customer, amount=D(40), method="manual", reference="BANK-7"))
    [message] = texts(telegram_on)
    assert message.startswith(
        f"Top-up #{topup.pk} of 40.0000 USD by dave waits for approval (reference BANK-7)."
    )
    assert f"/admin/billing/topup/{topup.pk}/" in message

    def rolled_back():
        with transaction.atomic():
            topup_request(user=customer, amount=D(40), method="manual", reference="BANK-8")
            transaction.set_rollback(True)

    committed(rolled_back)
    assert len(telegram_on.messages) == 1


def test_a_new_ticket_alerts_the_operators_once_and_a_reply_in_it_does_not(committed, customer, telegram_on):
    ticket = committed(
        lambda: ticket_open(user=customer, kind=Ticket.Kind.OTHER, subject="Where is it", body="Hello")
    )
    [message] = texts(telegram_on)
    assert (
        message.startswith(f"New ticket: {ticket}")
        and f"/admin/support/ticket/{ticket.pk}/change/" in message
    )
    committed(lambda: ticket_customer_reply(ticket=ticket, user=customer, body="Any news?"))
    assert len(telegram_on.messages) == 1


# --- the periodic check -------------------------------------------------------------------------------


@pytest.fixture
def healthy(provider):
    """Every condition fine: balance above its threshold, every sync working, both heartbeats fresh."""
    provider.balance, provider.low_balance_threshold, provider.currency = D(100), D(10), "USD"
    provider.save()
    for kind in SyncRun.Kind.values:
        SyncRun.objects.create(provider=provider, kind=kind, finished_at=timezone.now(), ok=True)
    heartbeat_record(PERIODIC)
    heartbeat_record(SENDING)
    return provider


def calls(provider, *, ok: int, failed: int) -> None:
    outcomes = [ProviderCall.Outcome.OK] * ok + [ProviderCall.Outcome.UNAVAILABLE] * failed
    ProviderCall.objects.bulk_create(
        ProviderCall(provider=provider, action="status", duration_ms=5, outcome=outcome)
        for outcome in outcomes
    )


def test_nothing_alarming_raises_nothing(committed, healthy, telegram_on):
    calls(healthy, ok=100, failed=4)  # 4%: below 20%, and below 5 failures
    assert committed(operator_conditions_check) == []
    assert mail.outbox == [] and telegram_on.messages == []


def test_the_periodic_check_alerts_each_condition_once(committed, healthy, telegram_on, on_sale, customer):
    provider = healthy
    provider.balance = D(3)
    provider.save()
    calls(provider, ok=10, failed=10)
    SyncRun.objects.filter(kind=SyncRun.Kind.CATALOGUE).update(
        finished_at=timezone.now() - timedelta(hours=3), started_at=timezone.now() - timedelta(hours=3)
    )
    type(provider).objects.filter(pk=provider.pk).update(created_at=timezone.now() - timedelta(days=1))
    stopped = timezone.now() - timedelta(minutes=10)
    cache.set(heartbeat_key(SENDING), stopped.isoformat())
    OperatorSettings.objects.filter(pk=1).update(review_queue_threshold=2)
    service = on_sale()
    for _ in range(2):
        order_in(Order.Status.NEEDS_REVIEW, user=customer, service=service)

    raised = committed(operator_conditions_check)
    assert sorted(raised) == sorted(
        [
            f"provider_balance_low:provider:{provider.pk}",
            f"provider_errors:provider:{provider.pk}",
            f"sync_late:provider:{provider.pk}:catalogue",
            "heartbeat_stale:sending",
            "review_queue:queue",
        ]
    )
    said = "\n".join(texts(telegram_on))
    assert "Provider Upstream's balance is 3.00000000 USD, below its threshold of 10.00000000" in said
    assert "Provider Upstream: 10 of its 20 calls in the last hour failed (50%)." in said
    assert "Provider Upstream: the catalogue sync is late" in said
    assert f"The sending worker's heartbeat is stale (last: {stopped:%Y-%m-%d %H:%M} UTC)" in said
    assert "2 orders and 0 refills wait for an operator in the review queue." in said
    assert len(mail.outbox) == 5

    committed(operator_conditions_check)  # a minute later, nothing changed: nothing new is sent
    assert len(telegram_on.messages) == 5 and len(mail.outbox) == 5


def test_a_heartbeat_never_recorded_is_news_only_after_the_checks_ran_a_while(
    committed, healthy, telegram_on
):
    cache.delete(CHECKING_SINCE)
    cache.delete(heartbeat_key(SENDING))  # a panel just started: no sending heartbeat yet
    now = timezone.now()
    assert committed(lambda: operator_conditions_check(now=now)) == []
    assert committed(lambda: operator_conditions_check(now=now + timedelta(minutes=2))) == []
    later = now + timedelta(minutes=4)  # three heartbeats should have come by now
    assert "heartbeat_stale:sending" in committed(lambda: operator_conditions_check(now=later))
    assert "The sending worker's heartbeat is stale (last: never)" in "\n".join(texts(telegram_on))


def test_a_disabled_provider_raises_nothing(committed, healthy, telegram_on):
    healthy.balance, healthy.enabled = D(0), False
    healthy.save()
    calls(healthy, ok=0, failed=50)
    assert committed(operator_conditions_check) == []


# --- Telegram over HTTP -----------------------------------------------------------------------------------


def test_telegram_gets_the_message_and_a_5xx_is_retried(committed, provider, telegram_on):
    telegram_on.fail_next = [502, 503]
    committed(lambda: provider_out_of_funds_alert(provider=provider, message="no funds"))
    assert telegram_on.calls == [502, 503, 200]
    [message] = telegram_on.messages
    assert message["chat_id"] == telegram_on.chat_id and message["text"].startswith(
        "Provider Upstream is out of funds"
    )
    assert len(mail.outbox) == 1  # the mail went once, whatever Telegram did


def test_the_bot_token_is_in_no_error_and_no_log_line(telegram, unused_tcp_port, settings, caplog):
    caplog.set_level(logging.DEBUG)
    token = telegram.token
    with pytest.raises(TelegramError) as refused:
        telegram_send(token=token, chat_id="12345", text="hello")  # a chat the bot is not in
    assert "chat not found" in str(refused.value)
    with pytest.raises(TelegramError) as wrong:
        telegram_send(token=token + "x", chat_id=telegram.chat_id, text="hello")
    assert "Unauthorized" in str(wrong.value)
    telegram.fail_next = [500]
    with pytest.raises(TelegramUnavailable) as failing:
        telegram_send(token=token, chat_id=telegram.chat_id, text="hello")
    settings.TELEGRAM_API_URL = f"http://127.0.0.1:{unused_tcp_port}"
    with pytest.raises(TelegramUnavailable) as unreachable:
        telegram_send(token=token, chat_id=telegram.chat_id, text="hello")
    assert "could not be reached (ConnectionError)" in str(unreachable.value)

    said = [str(error.value) for error in (refused, wrong, failing, unreachable)]
    said += [repr(error.value.__cause__) + repr(error.value.__context__) for error in (unreachable,)]
    said += [caplog.text]
    secret = token.split(":", 1)[1]
    assert not [text for text in said if secret in text]
    # Should a line quote the URL anyway, every handler's filter masks the token.
    assert (
        redact_secrets(f"POST /bot{token}/sendMessage") == f"POST /bot{token.split(':')[0]}:***/sendMessage"
    )


def test_an_unreachable_telegram_is_retried_by_the_task_and_logged_without_the_token(
    committed, provider, telegram_on, unused_tcp_port, settings, caplog
):
    settings.TELEGRAM_API_URL = f"http://127.0.0.1:{unused_tcp_port}"
    caplog.set_level(logging.DEBUG)
    committed(lambda: provider_out_of_funds_alert(provider=provider, message="no funds"))
    assert telegram_on.messages == [] and len(mail.outbox) == 1
    assert "TelegramUnavailable" in caplog.text or "Retry" in caplog.text
    assert telegram_on.token.split(":", 1)[1] not in caplog.text


# --- the settings page ----------------------------------------------------------------------------------


def test_the_owner_sets_the_bot_token_which_is_stored_encrypted_shown_never_and_audited(client, telegram):
    from audit.models import AuditEntry

    owner = member("Owner")
    client.force_login(owner)
    settings_row = operator_settings()
    url = f"/admin/notifications/operatorsettings/{settings_row.pk}/change/"
    assert client.get("/admin/notifications/operatorsettings/").status_code == 200
    form = {
        "email_kinds": [K.PROVIDER_OUT_OF_FUNDS],
        "telegram_kinds": list(K.values),
        "telegram_bot_token": telegram.token,
        "telegram_chat_id": telegram.chat_id,
        "quiet_minutes": "30",
        "error_rate_percent": "25",
        "error_min_calls": "5",
        "review_queue_threshold": "10",
    }
    assert client.post(url, form).status_code == 302
    stored = OperatorSettings.objects.get()
    assert stored.telegram_bot_token == telegram.token and stored.quiet_minutes == 30
    with connection.cursor() as cursor:
        cursor.execute("SELECT telegram_bot_token FROM notifications_operatorsettings")
        [(raw,)] = cursor.fetchall()
    assert telegram.token not in str(raw)
    page = client.get(url).content.decode()
    secret = telegram.token.split(":", 1)[1]
    assert secret not in page and f"••••{telegram.token[-4:]}" in page
    assert client.post(url, form | {"telegram_bot_token": "", "quiet_minutes": "45"}).status_code == 302
    assert OperatorSettings.objects.get().telegram_bot_token == telegram.token  # kept

    entries = list(AuditEntry.objects.filter(action="notifications.operatorsettings.change").order_by("pk"))
    assert [entry.actor for entry in entries] == [owner, owner]
    assert entries[0].changes["telegram_bot_token"] == [None, "(new secret)"]
    assert entries[0].changes["quiet_minutes"] == [60, 30]
    assert "telegram_bot_token" not in entries[1].changes
    assert not AuditEntry.objects.filter(changes__icontains=secret).exists()

    form |= {"telegram_bot_token": "", "forget_token": "on"}
    assert client.post(url, form).status_code == 302
    assert not OperatorSettings.objects.get().telegram_bot_token
    last = AuditEntry.objects.filter(action="notifications.operatorsettings.change").latest("pk")
    assert last.changes["telegram_bot_token"] == ["(secret)", None]

    client.force_login(member("Support"))
    assert client.get(url).status_code == 403


def test_the_owner_sends_a_test_alert_to_check_the_channels(client, committed, telegram_on):
    owner = member("Owner")
    client.force_login(owner)
    row = operator_settings()
    OperatorSettings.objects.filter(pk=row.pk).update(
        email_kinds=[], telegram_kinds=[]
    )  # switched off: still
    response = committed(
        lambda: client.post(
            "/admin/notifications/operatorsettings/",
            {"action": "send_test_alert", "_selected_action": [row.pk]},
            follow=True,
        )
    )
    assert "A test alert is on its way by email and telegram." in response.content.decode()
    [sent] = mail.outbox
    assert sent.to == ["operator@example.com"] and "Test alert from the panel, sent by owner" in sent.subject
    assert texts(telegram_on) == [sent.body]
