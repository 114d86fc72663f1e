"""Local development and the one-command demo: debug on, embedded defaults, a throwaway secret."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-local-only-secret-key-change-me-in-production")
os.environ.setdefault("DJANGO_DEBUG", "true")

from reseller.settings.base import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
