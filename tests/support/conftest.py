import pytest
from django.contrib.auth.models import User

from support.models import Ticket
from support.services import ticket_open

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def attachments_dir(settings, tmp_path):
    """Each test's files in a directory of its own, outside every served URL as in production."""
    settings.SUPPORT_ATTACHMENTS_DIR = tmp_path / "attachments"
    return settings.SUPPORT_ATTACHMENTS_DIR


@pytest.fixture
def rival(db):
    """Another customer, whose tickets and orders are none of ``customer``'s business."""
    return User.objects.create_user("rita", email="rita@example.com")


@pytest.fixture
def open_ticket(customer):
    """``open_ticket(user=…, **fields)``: a ticket opened through the service (an Other ticket unless told)."""

    def make(user=None, **fields):
        fields.setdefault("kind", Ticket.Kind.OTHER)
        fields.setdefault("subject", "A question")
        fields.setdefault("body", "Hello, I have a question.")
        return ticket_open(user=user or customer, **fields)

    return make
