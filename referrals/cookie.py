"""The referral cookie: which customer's link a visitor came through, signed (django's signed cookies) so
nobody can claim another code by writing it, and valid for ``REFERRAL_COOKIE_DAYS``."""

from datetime import timedelta

from django.conf import settings

COOKIE = "referral"
SALT = "referrals.link"


def _lifetime() -> timedelta:
    return timedelta(days=settings.REFERRAL_COOKIE_DAYS)


def referral_code_of(request) -> str:
    """The code of the link this browser came through, while its cookie is valid; else ""."""
    return request.get_signed_cookie(COOKIE, default="", salt=SALT, max_age=_lifetime())


def referral_cookie_set(response, code: str) -> None:
    response.set_signed_cookie(
        COOKIE,
        code,
        salt=SALT,
        max_age=int(_lifetime().total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
