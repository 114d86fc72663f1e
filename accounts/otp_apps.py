"""django-otp's two device apps under names that tell operators what they hold (its own: OTP_TOTP,
OTP_STATIC). Kept out of accounts/apps.py, where a second AppConfig would unseat the accounts app's own."""

from django_otp.plugins.otp_static.apps import DefaultConfig as StaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpConfig


class RecoveryCodesConfig(StaticConfig):
    verbose_name = "Two-factor: recovery codes"


class AuthenticatorAppsConfig(TotpConfig):
    verbose_name = "Two-factor: authenticator apps"
