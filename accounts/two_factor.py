"""Two-factor authentication (django-otp): a TOTP app, plus ten one-time recovery codes for a lost phone.

A user has two-factor on once a TOTP device is confirmed. Owners and superusers must have it when
``OTP_REQUIRED_FOR_OWNERS`` is on (production); everyone else may turn it on. The login views ask for a code
after the password (`login_pending_*`), and `TwoFactorMiddleware` keeps the rules for signed-in sessions.
"""

import time
from base64 import b32encode

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
TOTP_DIGITS = 6  # django-otp's default, which every authenticator app shows
OWNER_GROUP = "Owner"
# The code step of a login must follow its password step within this many seconds.
LOGIN_PENDING_SECONDS = 5 * 60
_PENDING = "login_pending"


def two_factor_required(user) -> bool:
    if not settings.OTP_REQUIRED_FOR_OWNERS or not user.is_active:
        return False
    return user.is_superuser or (user.is_staff and user.groups.filter(name=OWNER_GROUP).exists())


def two_factor_enabled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_setup_start(*, user) -> TOTPDevice:
    """A new secret to scan; it counts only once a code from it is confirmed. Earlier unconfirmed ones go."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


def totp_setup_device(*, user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn here (no external service ever sees the secret)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#111", light="#fff")


def totp_secret(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_setup_confirm(*, user, code: str) -> tuple[TOTPDevice | None, list[str]]:
    """Confirm the pending device with a code from the app: then two-factor is on, with fresh recovery codes.

    Returns the device and the codes (shown once), or ``(None, [])`` if the code is wrong.
    """
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
        )
        if device is None or not device.verify_token(_compact(code)):
            return None, []
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return device, recovery_codes_regenerate(user=user)


def recovery_codes_regenerate(*, user) -> list[str]:
    """Ten new one-time codes; the old ones stop working. The device stays: a session signed in with one of
    its codes is verified by it, and would be signed out if it went."""
    with transaction.atomic():
        device = StaticDevice.objects.select_for_update().filter(user=user).order_by("pk").first()
        if device is None:
            device = StaticDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
        StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        StaticToken.objects.filter(device=device).delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def two_factor_disable(*, user) -> None:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


def two_factor_verify(*, user, code: str):
    """The device that accepts ``code`` (a recovery code works once), or ``None`` and why not.

    Six digits are tried on the app's device, anything else as a recovery code, so a recovery code never
    counts as a wrong app code. Each device's throttle (django-otp) makes every failure double the wait.
    """
    code = _compact(code).lower()
    with transaction.atomic():
        if len(code) == TOTP_DIGITS and code.isdigit():
            devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
        else:
            devices = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
        for device in devices:
            allowed, why = device.verify_is_allowed()
            if not allowed:
                wait = max(1, round((why["locked_until"] - timezone.now()).total_seconds()))
                return None, _("Too many wrong codes: try again in %(seconds)s seconds.") % {"seconds": wait}
            if device.verify_token(code):
                return device, ""
    return None, _("That code is not right.")


def _compact(code: str) -> str:
    """Codes as people type them: with spaces or dashes between the groups."""
    return code.strip().replace(" ", "").replace("-", "")


# --- the second step of a login ---------------------------------------------------------------------------


def login_pending_start(request, user) -> None:
    """The password was right: remember who is logging in until they give a code (not signed in yet)."""
    request.session.cycle_key()
    request.session[_PENDING] = {"user": user.pk, "backend": user.backend, "at": time.time()}


def login_pending_user(request):
    """The user whose password was accepted in this session a moment ago, or ``None``."""
    pending = request.session.get(_PENDING)
    if not pending or time.time() - pending["at"] > LOGIN_PENDING_SECONDS:
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user


def login_pending_end(request) -> None:
    request.session.pop(_PENDING, None)
