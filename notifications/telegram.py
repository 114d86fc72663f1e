"""Telegram's Bot API ``sendMessage`` over HTTPS, with ``requests``; no database. The bot token is part of
the URL's path, so no error, exception or log line made here carries the URL or the token."""

import requests
from django.conf import settings

TIMEOUT = (5, 15)  # (connect, read) seconds
MAX_TEXT = 4096  # Telegram's limit on a message


class TelegramError(Exception):
    """Telegram refused the message (a wrong token or chat id): sending it again changes nothing."""


class TelegramUnavailable(TelegramError):
    """Telegram could not be reached, or failed (5xx) or asked to slow down (429): worth retrying."""


def _redacted(text: str, token: str) -> str:
    return text.replace(token, "[token]") if token else text


def telegram_send(*, token: str, chat_id: str, text: str, session: requests.Session | None = None) -> None:
    """Post ``text`` to ``chat_id`` as the bot ``token``. Raises ``TelegramUnavailable`` (retry) or
    ``TelegramError`` (give up); neither names the token."""
    url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{token}/sendMessage"
    payload = {"chat_id": chat_id, "text": text[:MAX_TEXT], "disable_web_page_preview": True}
    failure = None
    try:
        response = (session or requests).post(url, json=payload, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as error:
        # requests' messages quote the URL, token and all: only the kind of failure is kept, and it is
        # raised outside this block so that the exception does not carry the original as its context.
        failure = type(error).__name__
    if failure is not None:
        raise TelegramUnavailable(f"Telegram could not be reached ({failure}).")
    if response.status_code == 429 or response.status_code >= 500:
        raise TelegramUnavailable(f"Telegram answered HTTP {response.status_code}.")
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("ok"):
        description = str(answer.get("description", ""))[:200] if isinstance(answer, dict) else ""
        raise TelegramError(
            _redacted(f"Telegram refused the message (HTTP {response.status_code}): {description}", token)
        )
