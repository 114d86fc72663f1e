"""Referrals (issue 14) through the real stack: a link visited, a sign-up confirmed by its mailed link, deposits
credited by an operator or a processor's signed notification, taken back by a refund or a dispute, payouts from
the customer's page and the console."""

import re
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client

from accounts.services import customer_sign_up
from audit.models import AuditEntry
from billing.models import LedgerEntry, TopUp
from billing.services import account_for, balance_deposit, ledger_audit
from referrals.models import Affiliate, AffiliateEntry, AffiliatePayout, Referral
from referrals.selectors import affiliate_figures
from referrals.services import affiliate_for, commission_credit, payout_request, referral_record
from tests.billing.support import deliver, pay
from tests.staff import member

pytestmark = pytest.mark.django_db
D = Decimal
E = AffiliateEntry.Kind
PASSWORD = "a-Long-pass-42"


@pytest.fixture
def rosa(db) -> User:
    """The referrer."""
    return customer_sign_up(username="rosa", email="rosa@example.com", password=PASSWORD)


@pytest.fixture
def code(rosa) -> str:
    return affiliate_for(rosa).code


def sign_up(client: Client, username: str, email: str, *, confirm: bool = True) -> User:
    """Sign up on ``client`` (with whatever cookies it carries) and, if ``confirm``, follow the mailed link."""
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    client.post("/accounts/sign-up/", {"timezone": "UTC", **data})
    if confirm:
        link = re.search(r"https?://[^/\s]+(/\S+/)", mail.outbox[-1].body).group(1)
        assert client.post(link).status_code == 302
    return User.objects.get(username=username)


def referred(code: str, username: str) -> User:
    """A new customer who came through ``code``'s link and signed up."""
    browser = Client()
    browser.get(f"/r/{code}/")
    return sign_up(browser, username, f"{username}@example.com")


def approved_topup(user: User, amount: str, admin: Client) -> TopUp:
    topup = TopUp.objects.create(user=user, amount=D(amount), method=TopUp.Method.MANUAL, reference="r")
    admin.post(
        "/admin/billing/topup/", {"action": "approve", "_selected_action": [topup.pk], "confirmed": "1"}
    )
    return topup


@pytest.fixture
def owner_client(db) -> Client:
    admin = Client()
    admin.force_login(member("Owner"))
    return admin


def entries(user: User) -> list[tuple[str, Decimal]]:
    return list(
        AffiliateEntry.objects.filter(affiliate__user=user).order_by("pk").values_list("kind", "amount")
    )


# --- attribution -------------------------------------------------------------------------------------------


def test_a_sign_up_through_the_link_becomes_a_referral(rosa, code):
    browser = Client()
    response = browser.get(f"/r/{code}/")
    assert response.status_code == 302 and response["Location"] == "/"
    cookie = browser.cookies["referral"]
    assert cookie["httponly"] and cookie["max-age"] == 60 * 86400 and code in cookie.value  # signed
    browser.get(f"/r/{code}/")  # the same browser again: one visitor
    Client().get(f"/r/{code}/")
    Client().get("/r/nobodys/")

    neo = sign_up(browser, "neo", "neo@example.com")

    referral = Referral.objects.get()
    assert (referral.referrer.user, referral.referred) == (rosa, neo)
    figures = affiliate_figures(affiliate_for(rosa))
    assert (figures.visits, figures.sign_ups, figures.paying) == (2, 1, 0)


def test_a_forged_or_expired_cookie_refers_nobody(rosa, code, settings):
    forged = Client()
    forged.cookies["referral"] = code  # unsigned: written by hand
    sign_up(forged, "neo", "neo@example.com")
    late = Client()
    late.get(f"/r/{code}/")
    settings.REFERRAL_COOKIE_DAYS = 0  # its lifetime is over
    sign_up(late, "max", "max@example.com")
    assert not Referral.objects.exists()


def test_self_referral_is_refused_silently(rosa, code):
    rosa_browser = Client()
    rosa_browser.force_login(rosa)
    rosa_browser.get(f"/r/{code}/")  # their own link: neither counted nor remembered
    assert "referral" not in rosa_browser.cookies
    assert referral_record(referred=rosa, code=code) is None

    browser = Client()
    browser.get(f"/r/{code}/")
    # Rosa's own email in another letter case: the same answer as any sign-up, and no referral.
    sign_up(browser, "rosa2", "ROSA@Example.com", confirm=False)
    response = browser.get("/accounts/sign-up/sent/")
    assert response.status_code == 200 and not Referral.objects.exists()
    assert affiliate_figures(affiliate_for(rosa)).visits == 1


def test_a_customer_is_referred_once(rosa, code):
    neo = referred(code, "neo")
    other = customer_sign_up(username="max", email="max@example.com", password=PASSWORD)
    assert referral_record(referred=neo, code=affiliate_for(other).code) is None
    assert Referral.objects.get(referred=neo).referrer.user == rosa


# --- commissions -------------------------------------------------------------------------------------------


def test_a_credited_deposit_earns_its_commission_once(rosa, code, owner_client):
    neo = referred(code, "neo")
    topup = TopUp.objects.create(user=neo, amount=D("40"), method=TopUp.Method.MANUAL, reference="r")
    for _ in range(2):  # approved twice (two operators, a double click)
        owner_client.post(
            "/admin/billing/topup/", {"action": "approve", "_selected_action": [topup.pk], "confirmed": "1"}
        )
    commission_credit(topup=topup, amount=topup.amount)  # and called again: the key makes it once

    assert account_for(neo).balance == D(40)
    assert entries(rosa) == [(E.COMMISSION, D("2.0000"))]  # 5% of 40
    entry = AffiliateEntry.objects.get()
    assert entry.idempotency_key == f"commission:topup:{topup.pk}" and entry.balance_after == D(2)
    assert affiliate_for(rosa).balance == D(2)
    # A customer nobody referred earns nobody anything.
    approved_topup(
        customer_sign_up(username="solo", email="solo@example.com", password=PASSWORD), "40", owner_client
    )
    assert AffiliateEntry.objects.count() == 1


def test_the_operators_rate_override_is_audited_and_applies(rosa, code, owner_client):
    affiliate = affiliate_for(rosa)
    page = owner_client.get(f"/admin/referrals/affiliate/{affiliate.pk}/change/")
    assert page.status_code == 200
    inline = {"entries-TOTAL_FORMS": "0", "entries-INITIAL_FORMS": "0"}  # its ledger: nothing to edit
    owner_client.post(
        f"/admin/referrals/affiliate/{affiliate.pk}/change/", {"commission_percent": "12.5", **inline}
    )
    affiliate.refresh_from_db()
    assert affiliate.commission_percent == D("12.5")
    row = AuditEntry.objects.get(action="referrals.affiliate.change")
    assert row.changes == {"commission_percent": [None, "12.50"]}

    approved_topup(referred(code, "neo"), "40", owner_client)
    assert entries(rosa) == [(E.COMMISSION, D("5.0000"))]
    listing = owner_client.get("/admin/referrals/affiliate/").content.decode()
    assert "12.50%" in listing and "5.0000" in listing


def test_a_refund_and_a_dispute_take_the_commission_back_pro_rata(rosa, code, stripe):
    neo = referred(code, "neo")
    browser = Client()
    browser.force_login(neo)
    topup = pay(browser, "stripe", "40")
    paid = stripe.complete(topup.gateway_reference)
    deliver(browser, "stripe", paid)
    deliver(browser, "stripe", paid)
    assert entries(rosa) == [(E.COMMISSION, D(2))]

    refund = stripe.refund(topup.gateway_reference, D(10))  # a quarter of the deposit
    deliver(browser, "stripe", refund)
    deliver(browser, "stripe", refund)  # delivered again: nothing more
    assert entries(rosa) == [(E.COMMISSION, D(2)), (E.REVERSAL, D("-0.5"))]

    deliver(browser, "stripe", stripe.dispute(topup.gateway_reference))  # all of it now
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.REVERSED
    assert entries(rosa) == [(E.COMMISSION, D(2)), (E.REVERSAL, D("-0.5")), (E.REVERSAL, D("-1.5"))]
    figures = affiliate_figures(affiliate_for(rosa))
    assert figures.earned == figures.available == D(0) and figures.paying == 1


def test_a_commission_paid_out_then_taken_back_overdraws_the_affiliate_balance(rosa, code, stripe, settings):
    settings.REFERRAL_PAYOUT_MINIMUM = D(1)
    neo = referred(code, "neo")
    browser = Client()
    browser.force_login(neo)
    topup = pay(browser, "stripe", "40")
    deliver(browser, "stripe", stripe.complete(topup.gateway_reference))
    payout_request(user=rosa)  # 2 into rosa's main balance
    deliver(browser, "stripe", stripe.refund(topup.gateway_reference))

    assert affiliate_for(rosa).balance == D(-2)  # the money went out already: the next commissions repay it
    with pytest.raises(ValidationError, match="Payouts start at"):
        payout_request(user=rosa)


# --- payouts -----------------------------------------------------------------------------------------------


def earned(rosa: User, code: str, owner_client: Client, amount: str = "300") -> None:
    approved_topup(referred(code, f"buyer{Referral.objects.count()}"), amount, owner_client)


def test_an_instant_payout_moves_the_available_balance_into_the_main_balance(rosa, code, owner_client):
    browser = Client()
    browser.force_login(rosa)
    earned(rosa, code, owner_client, "100")  # 5: below the minimum of 10
    refused = browser.post("/referrals/", follow=True).content.decode()
    assert "Payouts start at 10; 5.0000 is available." in refused and not AffiliatePayout.objects.exists()

    earned(rosa, code, owner_client, "200")  # 10 more: 15
    before = account_for(rosa).balance
    page = browser.post("/referrals/", follow=True).content.decode()
    assert "15.0000 moved to your balance." in page

    payout = AffiliatePayout.objects.get()
    assert payout.status == AffiliatePayout.Status.PAID and payout.amount == D(15)
    assert account_for(rosa).balance == before + 15 and affiliate_for(rosa).balance == 0
    main = LedgerEntry.objects.get(idempotency_key=f"referral-payout:{payout.pk}")
    assert (main.kind, main.amount, main.reason, main.created_by) == (
        LedgerEntry.Kind.REFERRAL,
        D(15),
        f"Referral payout #{payout.pk}",
        None,
    )
    assert entries(rosa)[-1] == (E.PAYOUT, D(-15)) and ledger_audit(account=account_for(rosa)).ok
    assert browser.post("/referrals/").status_code == 302 and AffiliatePayout.objects.count() == 1


def test_a_payout_waits_for_the_operator_when_the_setting_says_so(rosa, code, owner_client, settings):
    settings.REFERRAL_PAYOUTS_NEED_APPROVAL = True
    browser = Client()
    browser.force_login(rosa)
    earned(rosa, code, owner_client)  # 15
    before = account_for(rosa).balance

    assert "once approved" in browser.post("/referrals/", follow=True).content.decode()
    first = AffiliatePayout.objects.get()
    assert first.status == AffiliatePayout.Status.PENDING and affiliate_for(rosa).balance == 0
    assert account_for(rosa).balance == before  # nothing moves before the operator approves
    assert "Payouts start at" in browser.post("/referrals/", follow=True).content.decode()  # asked once

    for _ in range(2):
        owner_client.post(
            "/admin/referrals/affiliatepayout/", {"action": "approve", "_selected_action": [first.pk]}
        )
    first.refresh_from_db()
    assert first.status == AffiliatePayout.Status.PAID and first.decided_by.username == "owner"
    assert account_for(rosa).balance == before + 15
    assert (
        AuditEntry.objects.filter(action="referrals.affiliatepayout.approve", target_id=str(first.pk)).count()
        == 1
    )

    earned(rosa, code, owner_client)
    browser.post("/referrals/")
    second = AffiliatePayout.objects.get(status=AffiliatePayout.Status.PENDING)
    owner_client.post(
        "/admin/referrals/affiliatepayout/",
        {"action": "reject", "_selected_action": [second.pk], "confirmed": "1", "note": "Looks like fraud"},
    )
    second.refresh_from_db()
    assert second.status == AffiliatePayout.Status.REJECTED and second.note == "Looks like fraud"
    assert affiliate_for(rosa).balance == D(15) and account_for(rosa).balance == before + 15
    assert entries(rosa)[-2:] == [(E.PAYOUT, D(-15)), (E.PAYOUT_RETURNED, D(15))]
    assert "Looks like fraud" in browser.get("/referrals/").content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_payouts_at_once_never_overdraw():
    rosa = customer_sign_up(username="rosa", email="rosa@example.com", password=PASSWORD)
    affiliate = affiliate_for(rosa)
    neo = customer_sign_up(username="neo", email="neo@example.com", password=PASSWORD)
    Referral.objects.create(referrer=affiliate, referred=neo)
    topup = TopUp.objects.create(user=neo, amount=D(400), method=TopUp.Method.MANUAL)
    commission_credit(topup=topup, amount=topup.amount)
    paid, refused = [], []
    start = threading.Barrier(8)

    def ask():
        start.wait()
        try:
            paid.append(payout_request(user=rosa))
        except ValidationError:
            refused.append(True)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(paid), len(refused)) == (1, 7)
    assert Affiliate.objects.get().balance == 0 and account_for(rosa).balance == D(20)


# --- the customer's page ------------------------------------------------------------------------------------


def test_the_referrals_page_shows_the_link_and_the_figures(rosa, code, owner_client):
    browser = Client()
    browser.force_login(rosa)
    assert 'href="/referrals/"' in browser.get("/dashboard/").content.decode()  # in the nav

    buyer = referred(code, "neo")  # 1 visit, signed up, pays
    referred(code, "max")  # 1 visit, signed up, never pays
    waiting = Client()
    waiting.get(f"/r/{code}/")  # 1 visit, signed up, never confirmed
    sign_up(waiting, "late", "late@example.com", confirm=False)
    Client().get(f"/r/{code}/")  # 1 visit only
    approved_topup(buyer, "40", owner_client)
    approved_topup(buyer, "60", owner_client)
    balance_deposit(account=account_for(buyer), amount=D(10))  # not a top-up: no commission

    page = browser.get("/referrals/").content.decode()
    assert f'value="http://testserver/r/{code}/"' in page
    figures = {  # as read: the amounts are in a span of their own ({% money %})
        name: re.sub(r"<[^>]+>", "", shown)
        for name, shown in re.findall(r'<strong id="([\w-]+)">(.*?)</strong>', page)
    }
    assert figures == {
        "visits": "4",
        "sign-ups": "2",
        "paying": "1",
        "conversion": "25.0%",
        "earned": "5.0000 USD",
        "available": "5.0000 USD",
    }
    assert "you earn 5% of every deposit" in page and "No payouts yet." in page
    assert Client().get("/referrals/").status_code == 302  # customers only


def test_the_affiliate_ledger_is_append_only(rosa, code, owner_client):
    approved_topup(referred(code, "neo"), "40", owner_client)
    entry = AffiliateEntry.objects.get()
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        AffiliateEntry.objects.filter(pk=entry.pk).update(amount=D(1000))
    with pytest.raises(PermissionError):
        entry.delete()
    # Even raw SQL is refused by the database itself.
    with pytest.raises(Exception, match="never changed"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE referrals_affiliateentry SET amount = 1000 WHERE id = %s", [entry.pk])
    assert AffiliateEntry.objects.get().amount == D(2)
