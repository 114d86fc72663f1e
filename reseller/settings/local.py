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

# The demo's panels call each other on 127.0.0.1 (a panel that is another's provider gets its webhooks).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=True)
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=True)
