"""Local development and the one-command demo: debug on, embedded defaults, a throwaway secret."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-local-only-secret-key-change-me-in-production")
os.environ.setdefault("DJANGO_DEBUG", "true")

from reseller.settings.base import *  # noqa: F403
from reseller.settings.base import env

# The demo offers the sandbox card gateway, signed with a secret of its own.
PAYMENT_SANDBOX_ALLOWED = True
PAYMENT_GATEWAYS = env.list("PAYMENT_GATEWAYS", default=["sandbox"])
SANDBOX_GATEWAY_SECRET = env.str("SANDBOX_GATEWAY_SECRET", default="insecure-local-only-sandbox-secret")

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
