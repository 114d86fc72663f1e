"""Sign-up never tells whether an email is registered: the same answer either way, no second account, and
only the mailbox's owner learns which case it was (a confirmation link, or a "someone tried" mail)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Profile
from accounts.services import customer_sign_up, customers_disable, customers_enable, email_owner
from accounts.sign_up import sign_up_confirm, sign_ups_unconfirmed_prune
from accounts.tasks import password_reset_mail
from billing.services import account_for

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-pass-42"


def sign_up(client, username, email, **extra):
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/sign-up/", {"timezone": "UTC", **data, **extra}, follow=True)


def visible(response) -> str:
    """The page as the visitor sees it, without the per-session CSRF token."""
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", response.content.decode())


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+/)", message.body).group(1)


def test_a_new_and_a_registered_email_get_the_same_answer():
    rosa = customer_sign_up(username="rosa", email="rosa@example.com", password="pw-Secret-123")

    new = sign_up(Client(), "neo", "neo@example.com")
    registered = sign_up(Client(), "rosa2", "ROSA@example.com")

    assert new.status_code == registered.status_code == 200
    assert new.redirect_chain == registered.redirect_chain == [("/accounts/sign-up/sent/", 302)]
    assert visible(new) == visible(registered)
    assert "Check your inbox" in visible(new)

    # No second account for the registered email; the new one waits for its link.
    assert email_owner("rosa@example.com").username == "rosa"
    assert list(User.objects.filter(email__iexact="rosa@example.com", is_active=True)) == [rosa]
    assert not User.objects.get(username="neo").is_active

    confirm, tried = mail.outbox
    assert confirm.to == ["neo@example.com"] and "/accounts/sign-up/confirm/" in confirm.body
    assert tried.to == ["rosa@example.com"] and "already has one: its username is rosa" in tried.body
    # Its owner gets a working link to choose a new password.
    client = Client()
    form = client.get(link_in(tried), follow=True)
    assert 'name="new_password1"' in form.content.decode()


def test_the_link_in_the_mail_creates_the_account_and_signs_in(client):
    sign_up(client, "neo", "Neo@Example.com", timezone="Europe/Paris")
    assert client.post("/accounts/login/", {"username": "neo", "password": PASSWORD}).status_code == 200
    link = link_in(mail.outbox[0])

    page = client.get(link)
    assert "Create the account neo for neo@example.com?" in page.content.decode()
    assert not User.objects.get(username="neo").is_active  # opening the link (a mail scanner) is not enough

    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    user = User.objects.get(username="neo")
    assert (
        user.is_active and not user.profile.awaiting_confirmation and user.profile.timezone == "Europe/Paris"
    )
    assert account_for(user).balance == 0
    assert "This link no longer works" in Client().get(link).content.decode()
    assert "This link no longer works" in Client().post(link).content.decode()

    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"username": "neo", "password": PASSWORD}).status_code == 302


def test_the_username_a_sign_up_holds_does_not_tell_a_registered_email():
    """Signing up holds the username, a registered email or not: a second sign-up with that username (and
    another email, one of the prober's own) is "taken" either way. The one for a registered email is never
    confirmed, nor enabled by an operator, and its username frees up with the others that were not."""
    rosa = customer_sign_up(username="rosa", email="rosa@example.com", password="pw-Secret-123")
    sign_up(Client(), "probe1", "rosa@example.com")
    sign_up(Client(), "probe2", "nobody@example.com")
    for probe in ("probe1", "probe2"):
        again = sign_up(Client(), probe, f"{probe}@prober.example")
        assert "A user with that username already exists." in visible(again)

    tried = mail.outbox[0]
    assert tried.to == ["rosa@example.com"] and "/accounts/sign-up/confirm/" not in tried.body
    decoy = User.objects.get(username="probe1")
    assert not sign_up_confirm(user=decoy) and not User.objects.get(pk=decoy.pk).is_active
    assert customers_enable(users=User.objects.filter(pk__in=[rosa.pk, decoy.pk])) == 0
    assert email_owner("rosa@example.com") == rosa
    assert Client().post("/accounts/login/", {"username": "probe1", "password": PASSWORD}).status_code == 200
    User.objects.filter(username__startswith="probe").update(date_joined=timezone.now() - timedelta(days=30))
    assert sign_ups_unconfirmed_prune() == 2


def test_a_newer_sign_up_replaces_an_unconfirmed_one_for_the_same_email():
    """Someone signing up with another's address cannot hold it: the mailbox's owner can still sign up."""
    sign_up(Client(), "squatter", "vic@example.com")
    sign_up(Client(), "vic", "vic@example.com")
    first, second = mail.outbox
    assert second.to == ["vic@example.com"] and "/accounts/sign-up/confirm/" in second.body
    assert list(User.objects.filter(email="vic@example.com").values_list("username", flat=True)) == ["vic"]
    assert "This link no longer works" in Client().get(link_in(first)).content.decode()
    assert Client().post(link_in(second)).status_code == 302


def test_signing_up_again_when_no_mail_came():
    sign_up(Client(), "neo", "neo@example.com")
    again = sign_up(Client(), "Neo", "NEO@example.com")
    assert "Check your inbox" in visible(again)
    assert list(User.objects.values_list("username", flat=True)) == ["Neo"]
    first, second = mail.outbox
    assert "This link no longer works" in Client().get(link_in(first)).content.decode()
    assert Client().post(link_in(second)).status_code == 302
    # Someone else's pending username is taken like any other.
    sign_up(Client(), "trinity", "trinity@example.com")
    other = sign_up(Client(), "trinity", "someone@example.com")
    assert "A user with that username already exists." in visible(other)


def test_a_disabled_account_keeps_its_email():
    rosa = customer_sign_up(username="rosa", email="rosa@example.com", password="pw-Secret-123")
    customers_disable(users=User.objects.filter(pk=rosa.pk))
    assert "Check your inbox" in visible(sign_up(Client(), "rosa2", "rosa@example.com"))
    assert email_owner("rosa@example.com") == rosa and not User.objects.filter(is_active=True).exists()
    (tried,) = mail.outbox
    assert "This account is disabled" in tried.body and "/accounts/reset/" not in tried.body
    assert not User.objects.get(username="rosa").is_active


def test_the_username_is_still_checked():
    customer_sign_up(username="taken", email="taken@example.com", password="pw-Secret-123")
    page = sign_up(Client(), "taken", "someone@example.com").content.decode()
    assert "A user with that username already exists." in page
    assert not mail.outbox


def test_password_reset_answers_the_same_for_any_email(eager_celery):
    customer_sign_up(username="rosa", email="rosa@example.com", password="pw-Secret-123")
    known = Client().post("/accounts/password_reset/", {"email": "rosa@example.com"}, follow=True)
    unknown = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    assert visible(known) == visible(unknown)
    assert [message.to for message in mail.outbox] == [["rosa@example.com"]]


def test_password_reset_does_the_same_work_for_any_email(monkeypatch):
    """Sent during the request, the reset mail made a registered address answer slower (the mail server's
    round trip) than an unknown one. The request only queues the same task for both; a worker mails."""
    customer_sign_up(username="rosa", email="rosa@example.com", password="pw-Secret-123")
    queued = []
    monkeypatch.setattr("accounts.forms.password_reset_mail.delay", lambda **task: queued.append(task))
    queries = []
    for email in ("rosa@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as captured:
            Client().post("/accounts/password_reset/", {"email": email})
        queries.append([query["sql"] for query in captured])
    assert queries[0] == queries[1]  # no look-up of the address in the request
    assert not mail.outbox
    assert queued == [
        {"email": email, "domain": "testserver", "use_https": False}
        for email in ("rosa@example.com", "nobody@example.com")
    ]
    for task in queued:
        password_reset_mail(**task)
    (sent,) = mail.outbox
    assert sent.to == ["rosa@example.com"] and "http://testserver/accounts/reset/" in sent.body


def test_unconfirmed_sign_ups_are_pruned_when_their_link_expires():
    sign_up(Client(), "old", "old@example.com")
    sign_up(Client(), "recent", "recent@example.com")
    customer_sign_up(username="confirmed", email="c@example.com", password="pw-Secret-123")
    User.objects.filter(username__in=["old", "confirmed"]).update(
        date_joined=timezone.now() - timedelta(days=30)
    )
    assert sign_ups_unconfirmed_prune() == 1
    assert set(User.objects.values_list("username", flat=True)) == {"recent", "confirmed"}
    assert Profile.objects.filter(user__username="recent", awaiting_confirmation=True).exists()


def test_sign_ups_and_password_resets_are_capped_per_client_address(settings, eager_celery):
    settings.ACCOUNT_FORMS_PER_CLIENT = "3/hour"
    here, elsewhere = Client(REMOTE_ADDR="198.51.100.7"), Client(REMOTE_ADDR="198.51.100.8")
    for number in range(2):
        assert sign_up(here, f"user{number}", f"user{number}@example.com").status_code == 200
    here.post("/accounts/password_reset/", {"email": "user0@example.com"})

    refused = here.post("/accounts/sign-up/", {"username": "more", "email": "more@example.com"})
    assert refused.status_code == 429 and "Too many requests from your address" in refused.content.decode()
    assert here.post("/accounts/password_reset/", {"email": "x@example.com"}).status_code == 429
    assert not User.objects.filter(username="more").exists()
    assert here.get("/accounts/sign-up/").status_code == 200  # the pages still show

    assert sign_up(elsewhere, "more", "more@example.com").redirect_chain == [("/accounts/sign-up/sent/", 302)]


def test_account_mails_to_one_address_are_capped(settings, eager_celery):
    settings.ACCOUNT_MAILS_PER_ADDRESS = "2/hour"
    customer_sign_up(username="rosa", email="rosa-capped@example.com", password="pw-Secret-123")
    for number in range(3):  # "someone tried to sign up" mails, then a reset: all to Rosa
        sign_up(Client(), f"rosa{number}", "rosa-capped@example.com")
    Client().post("/accounts/password_reset/", {"email": "ROSA-capped@example.com"})

    assert [message.to for message in mail.outbox] == [["rosa-capped@example.com"]] * 2
    sign_up(Client(), "other", "other-capped@example.com")  # another address is not held back
    assert mail.outbox[-1].to == ["other-capped@example.com"]
