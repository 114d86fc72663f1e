"""The test suite: embedded defaults unless DATABASE_URL / REDIS_URL point at real servers."""

import os
import uuid

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from kombu import Queue

from reseller.settings.base import *  # noqa: F403
from reseller.settings.base import CACHES, DATABASES, MIDDLEWARE, PERIODIC_TASKS, REDIS_URL, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests pay through the sandbox card gateway, signed with a secret of its own.
PAYMENT_SANDBOX_ALLOWED = True
PAYMENT_GATEWAYS = ["sandbox"]
SANDBOX_GATEWAY_SECRET = "test-only-sandbox-gateway-secret"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ADMINS = [("Operator", "operator@example.com")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests serve no collected static files.
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("whitenoise")]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, as the embedded panel runs it (busy timeout, IMMEDIATE transactions): an in-memory database
    # shared by the live server's threads locks whole tables and fails at once instead of waiting.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# pytest-xdist workers (bin/test runs several) share the Redis database: each keeps to its own keys.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL:
    # Cache keys of this run's own (and each worker's), shared with the processes a test starts through the
    # environment: every run's test databases number their rows from 1, and a key a run left for provider 1
    # (a dispatcher's pending kick lives two minutes) would hold up the next run's provider 1.
    CACHES["default"]["KEY_PREFIX"] = (
        os.environ.setdefault("TEST_CACHE_KEY_PREFIX", f"test-{uuid.uuid4().hex}") + XDIST_WORKER
    )
    # Queues of this run's own (and each worker's), shared with the processes a test starts through the
    # environment: a Celery worker a test starts must never take another run's tasks, for orders with the
    # same ids in another database, nor a demo worker this run's.
    _queues = os.environ.setdefault("TEST_CELERY_QUEUES", f"test-{uuid.uuid4().hex}") + XDIST_WORKER
    CELERY_TASK_DEFAULT_QUEUE, PERIODIC_QUEUE = f"{_queues}-celery", f"{_queues}-periodic"
    CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(PERIODIC_QUEUE)]
    CELERY_TASK_ROUTES = {task: {"queue": PERIODIC_QUEUE} for task in sorted(PERIODIC_TASKS)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Tasks queued by tests stay in this process: in var/broker a demo worker would run them later,
    # against its own orders with the same ids.
    CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT = "memory://", "memory"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
PROVIDER_RETRY_BACKOFF = 0.01
# Provider ids restart at 1 in every test database: keep each run's (and each worker's) rate-limit windows
# apart. Through the environment, processes a test starts (gunicorn, a Celery worker) share its namespace.
RATELIMIT_NAMESPACE = os.environ.setdefault("RATELIMIT_NAMESPACE", f"test-{uuid.uuid4().hex}") + XDIST_WORKER
# Tests sign up and reset passwords from one address all day; tests of the caps set them lower.
ACCOUNT_FORMS_PER_CLIENT = "100000/hour"
ACCOUNT_MAILS_PER_ADDRESS = "100000/hour"
SUPPORT_TICKETS_PER_CUSTOMER = "100000/hour"
# Webhook receivers in tests listen on 127.0.0.1 over plain http (the SSRF tests switch this off).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
WEBHOOKS_ALLOW_HTTP = True
