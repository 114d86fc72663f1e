"""Logging: no line carries a customer's API key, and errors cannot flood the operator's inbox.

Resellers' scripts send their key in query strings (``/api/v2?key=…&action=status``), so every log that
quotes a request — runserver's and gunicorn's access lines, ``django.request`` warnings, the error mails —
passes through ``redact_secrets``. Every anonymous request that raises a server error would otherwise also be
one mail to ``ADMINS``: ``ThrottledAdminEmailHandler`` mails each distinct error once per window, and
``SecretsReporterFilter`` keeps passwords, keys and codes out of what those mails quote.
"""

import hashlib
import logging
import re
import time
import traceback
from copy import copy

from django.conf import settings
from django.core.cache import cache
from django.utils.log import AdminEmailHandler
from django.views.debug import SafeExceptionReporterFilter
from gunicorn.glogging import Logger as GunicornBaseLogger

_KEY_PARAMETER = re.compile(r"(?i)((?:^|[?&;\s\"'(])key=)[^&;\s\"']+")
_KEY_SHAPE = re.compile(r"\b([A-Za-z0-9]{8})\.[A-Za-z0-9]{32}\b")  # api.services.KEY_SHAPE
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+")
# The token of a mailed one-time link (password reset, sign-up confirmation: PasswordResetTokenGenerator's
# shape) sits in its path: whoever reads the access log must not follow the link before its owner does.
_LINK_TOKEN = re.compile(r"\b[0-9a-z]{1,13}-[0-9a-f]{32}\b")
# Form fields that hold a secret, whatever the form: api_key, password1, new_password2, a two-factor code, …
_SECRET_FIELD = re.compile(r"(?i)key|pass|secret|token|code|auth|signature")
# A Telegram bot token ("123456789:AA…", in the path of every Bot API call): operator alerts' channel.
_BOT_TOKEN = re.compile(r"(?<!\d)(\d{3,15}):[A-Za-z0-9_-]{30,}")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@")


def redact_secrets(text: str) -> str:
    """``text`` with API keys masked: any ``key=`` value, bearer tokens, and anything shaped like a key
    (its 8-character prefix kept: pages and logs name keys by it); the tokens of mailed one-time links, and
    Telegram bot tokens."""
    text = _KEY_PARAMETER.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    text = _LINK_TOKEN.sub("***", text)
    text = _BOT_TOKEN.sub(r"\1:***", text)
    return _KEY_SHAPE.sub(r"\1.***", text)


class RedactSecrets(logging.Filter):
    """On every handler: the message and the traceback of a record, redacted before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        return True


class SecretsReporterFilter(SafeExceptionReporterFilter):
    """What Django's error reports (the mails to ADMINS) may quote. Django hides a POST field only where its
    view declares it sensitive; here every field named like a secret is hidden on every page (the admin's
    provider form posts its ``api_key``, the sign-up form its passwords), and so is a password inside a URL
    (``REDIS_URL=redis://:password@host``, also in the broker and cache settings)."""

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None or not self.is_active(request):
            return parameters
        secret = [name for name in parameters if _SECRET_FIELD.search(name)]
        if secret:
            parameters = parameters.copy()
            for name in secret:
                parameters[name] = self.cleansed_substitute
        return parameters

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)  # which calls this again for each nested value
        if type(cleansed) is str:  # not lazy objects that pass for strings
            return _URL_PASSWORD.sub(rf"\g<1>{self.cleansed_substitute}@", cleansed)
        return cleansed


class ThrottledAdminEmailHandler(AdminEmailHandler):
    """Django's error mails to ADMINS, at most one per distinct error (exception type and the line that raised
    it, or the message template) every ADMIN_MAIL_THROTTLE_MINUTES, counted in the shared cache; the next mail
    says how many were held back. The mail quotes the request (URL, GET, headers): it is redacted too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sent_here: dict[str, float] = {}  # when the cache itself is down

    def emit(self, record: logging.LogRecord) -> None:
        held_back = self._admit(_fingerprint(record))
        if held_back is None:
            return
        if held_back:
            record = copy(record)
            record.msg = f"{record.msg} [{held_back} more like this were not mailed]"
        super().emit(record)

    def send_mail(self, subject, message, *args, html_message=None, **kwargs):
        super().send_mail(
            redact_secrets(subject),
            redact_secrets(message),
            *args,
            html_message=redact_secrets(html_message) if html_message else None,
            **kwargs,
        )

    def _admit(self, fingerprint: str) -> int | None:
        """None to hold this one back; else how many were held back since the last mail."""
        window = settings.ADMIN_MAIL_THROTTLE_MINUTES * 60
        mailed, held = f"admin-mail:{fingerprint}", f"admin-mail:{fingerprint}:held"
        try:
            if not cache.add(mailed, 1, timeout=window):
                if not cache.add(held, 1, timeout=None):
                    cache.incr(held)
                return None
            held_back = cache.get(held, 0)
            if held_back:
                cache.delete(held)
            return held_back
        except Exception:  # a broken cache (often the very error) must not mean a mail each time
            now = time.monotonic()
            if now - self._sent_here.get(fingerprint, -window) < window:
                return None
            self._sent_here[fingerprint] = now
            return 0


def _fingerprint(record: logging.LogRecord) -> str:
    if record.exc_info and record.exc_info[0] is not None:
        kind, _, trace = record.exc_info
        frames = traceback.extract_tb(trace)
        where = (frames[-1].filename, frames[-1].lineno) if frames else ()
        parts = (kind.__module__, kind.__qualname__, *where)
    else:
        parts = (record.name, record.levelname, str(record.msg))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's access log (``--logger-class reseller.log.GunicornLogger``) with keys redacted from every
    field a format can use: request line, query string, referer, headers."""

    def atoms(self, resp, req, environ, request_time):
        return {
            name: redact_secrets(value) if isinstance(value, str) else value
            for name, value in super().atoms(resp, req, environ, request_time).items()
        }
