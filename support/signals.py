"""What a ticket tells the rest of the panel, sent inside the transaction that made it (receivers that tell
anyone outside defer that with ``transaction.on_commit``): ``sender`` is ``Ticket``, ``ticket`` the ticket.

- ``ticket_opened``: a customer opened a ticket.
- ``ticket_customer_wrote``: a customer replied in a ticket (or reopened it with a message).
"""

from django.dispatch import Signal

ticket_opened = Signal()
ticket_customer_wrote = Signal()
