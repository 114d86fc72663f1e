"""What a failed send is worth retrying for: the mail server or service, or Telegram, failed or could not be
reached (OSError covers refused connections and timeouts). A refusal of the message itself is not."""

import smtplib

from anymail.exceptions import AnymailAPIError

from notifications.telegram import TelegramUnavailable

TRANSPORT_ERRORS = (smtplib.SMTPException, OSError, AnymailAPIError, TelegramUnavailable)
