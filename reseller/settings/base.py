"""Settings shared by every environment, read from environment variables (django-environ).

Embedded defaults need no external service: SQLite, the database cache, and kombu's filesystem
transport as Celery broker. ``DATABASE_URL`` and ``REDIS_URL`` switch the same code to PostgreSQL
and Redis (broker, cache, rate limits).
"""

from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
# Old secrets stay readable after a rotation: sessions and encrypted provider keys use them too.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
# Salt for the key derivation of encrypted model fields (provider API keys).
SALT_KEY = env.list("FIELD_ENCRYPTION_SALT", default=["reseller-panel-provider-keys"])

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "unfold.apps.BasicAppConfig",  # the console's theme: before the admin, whose templates it overrides
    "unfold.contrib.filters",  # its list filters: searched choices, date ranges
    "console.sites.ConsoleAdminConfig",  # django.contrib.admin on the console's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "django_otp",
    "accounts.otp_apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp
    "accounts.otp_apps.RecoveryCodesConfig",  # django_otp.plugins.otp_static
    "accounts",
    "panels",
    "billing",
    "catalogue",
    "orders",
    "api",
    "storefront",
    "referrals",
    "content",
    "console",
    "support",
    "notifications",
    "webhooks",  # after orders: its provider page adds "Register webhook" to the orders' one
    "audit",  # last: its admin module makes every model page of the others record an audit trail
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Answers API v2 itself: none of the website's middlewares below apply to it (see the module).
    "api.middleware.ApiV2Middleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The visitor's language: the switcher's cookie, else Accept-Language, else English (LANGUAGE_CODE).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): passed the second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "reseller.admin_tools.AdminInputCheckMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CustomerTimezoneMiddleware",
    # A signed-in customer's own language (Profile.language) wins over the cookie and the browser's.
    "accounts.middleware.CustomerLanguageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses logins while a username/IP pair is locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): 5 failures for a username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind a TLS proxy every visitor arrives from the proxy's address: with TRUSTED_PROXY_COUNT proxies in
# front (1 behind one nginx), the client's address is read from X-Forwarded-For (reseller/client_ip.py),
# so an attacker locks a username out only from their own address (for IPv6, their /64: reseller.client_ip).
# 0 (default): REMOTE_ADDR, no proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "reseller.client_ip.client_limit_key"  # an IPv6 client counts by its /64
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.lockout.attempt_username"

# Two-factor authentication (django-otp: TOTP apps plus one-time recovery codes), optional for everyone;
# required before an Owner (or a superuser) reaches anything when this is on — always in production.
OTP_REQUIRED_FOR_OWNERS = env.bool("OTP_REQUIRED_FOR_OWNERS", default=False)


def _totp_issuer(device) -> str:
    """The name authenticator apps show beside the code: the panel's name as the Owner set it (branding),
    read when a device's QR code is made (django-otp calls this with the device)."""
    from content.branding import branding_current

    return branding_current().panel_name


OTP_TOTP_ISSUER = _totp_issuer
# Each wrong code doubles the wait before the next try (1 s, 2 s, 4 s, …), on top of django-axes counting
# wrong codes as failed logins.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The admin never shows a device's secret key or its recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The sign-up and password-reset forms are open to anyone: posts per client address, and account mails per
# recipient ("N/hour"; limits' syntax), so they can neither fill the users table nor flood an inbox.
ACCOUNT_FORMS_PER_CLIENT = env.str("ACCOUNT_FORMS_PER_CLIENT", default="10/hour")
ACCOUNT_MAILS_PER_ADDRESS = env.str("ACCOUNT_MAILS_PER_ADDRESS", default="5/hour")

# The console's look (django-unfold): the panel's name, logo and accent colour from the branding, and the
# sidebar grouped by the business (console/navigation.py), the system's pages last and folded.
UNFOLD = {
    "SITE_TITLE": "console.theme.site_title",
    "SITE_HEADER": "console.theme.site_header",
    "SITE_SUBHEADER": "Operator console",
    "SITE_LOGO": "console.theme.site_logo",
    "SITE_FAVICONS": [{"rel": "icon", "href": "console.theme.favicon"}],
    "SITE_URL": "/",
    "COLORS": {"primary": "console.theme.primary_colours"},
    "STYLES": ["console.theme.stylesheet"],
    "SIDEBAR": {
        "show_search": False,
        "command_search": False,
        "show_all_applications": False,
        "navigation": "console.navigation.sidebar",
    },
}

ROOT_URLCONF = "reseller.urls"
WSGI_APPLICATION = "reseller.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "storefront.context_processors.balance",
                "support.context_processors.unread",
                "content.context_processors.pages",
                "content.context_processors.brand",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Several processes (web, worker, beat) share the file: wait for locks, take the write lock up front.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="reseller"),
        }
    }
else:
    # The database cache is shared by all processes, so locks taken with cache.add() hold across them.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "reseller_cache",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages of the storefront, account and support pages and of customers' mails (Profile.language),
# each named in itself so the switcher reads right whatever the page's language. The catalogues are in
# locale/ (README "Languages"); the operator console stays in English.
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Celery -------------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "reseller.broker:Transport"  # kombu's, with messages that appear whole
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast exchanges (worker remote control) otherwise land in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # A worker lists the folder this often while idle (kombu's default is once a second): the delay
        # before a queued order's dispatcher starts.
        "polling_interval": 0.25,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CATALOGUE_SYNC_MINUTES = env.int("CATALOGUE_SYNC_MINUTES", default=30)
BALANCE_SYNC_MINUTES = env.int("BALANCE_SYNC_MINUTES", default=5)
STATUS_SYNC_SECONDS = env.int("STATUS_SYNC_SECONDS", default=60)
# Beat's proof of life for the dashboard; a side of it is stale after three intervals.
HEARTBEAT_SECONDS = env.int("HEARTBEAT_SECONDS", default=60)
# A refill's send task this long past the time a worker should have picked it up is taken as lost (a worker
# killed with it, a broker that dropped it) and queued again by the sweeper: longer than a real backlog takes
# to drain, so a task still waiting in the broker is never doubled. (Orders wait in the database: dispatch.)
SEND_TASK_LOST_MINUTES = env.int("SEND_TASK_LOST_MINUTES", default=15)
# Auto-refill (orders.auto_refill): how often the due orders are looked at, how often an order of a service
# that refills on a drop has its status read again (a status call per 100 orders), and how many orders one run
# looks at per provider (the rest wait for the next run; the provider's budget bounds it too).
AUTO_REFILL_MINUTES = env.int("AUTO_REFILL_MINUTES", default=10)
AUTO_REFILL_DROP_CHECK_HOURS = env.int("AUTO_REFILL_DROP_CHECK_HOURS", default=24)
AUTO_REFILL_ORDERS_PER_RUN = env.int("AUTO_REFILL_ORDERS_PER_RUN", default=1000)
# Periodic work is declared here; django-celery-beat mirrors it into the database, where the
# operator can see and pause it in the admin.
CELERY_BEAT_SCHEDULE = {
    "sync-all-catalogues": {
        "task": "panels.tasks.sync_all_catalogues",
        "schedule": crontab(minute=f"*/{CATALOGUE_SYNC_MINUTES}"),
    },
    "sync-all-balances": {
        "task": "panels.tasks.sync_all_balances",
        "schedule": crontab(minute=f"*/{BALANCE_SYNC_MINUTES}"),
    },
    "sync-order-statuses": {
        "task": "orders.tasks.sync_all_order_statuses",
        "schedule": STATUS_SYNC_SECONDS,
    },
    "sweep-orders": {
        "task": "orders.tasks.sweep_orders",
        "schedule": 60,
    },
    "tally-orders": {
        "task": "orders.tasks.tally_orders",
        "schedule": 60,
    },
    "auto-refill": {
        "task": "orders.tasks.auto_refill_all",
        "schedule": crontab(minute=f"*/{AUTO_REFILL_MINUTES}"),
    },
    "prune-provider-calls": {
        "task": "panels.tasks.prune_provider_calls",
        "schedule": crontab(minute=17, hour=3),
    },
    "heartbeat": {
        "task": "console.tasks.heartbeat",
        "schedule": HEARTBEAT_SECONDS,
    },
    "prune-api-requests": {
        "task": "api.tasks.prune_api_requests",
        "schedule": crontab(minute=27, hour=3),
    },
    "prune-form-submissions": {
        "task": "storefront.tasks.prune_form_submissions",
        "schedule": crontab(minute=47, hour=3),
    },
    "check-notifications": {
        "task": "notifications.tasks.check_notifications",
        "schedule": 60,
    },
    "prune-notifications": {
        "task": "notifications.tasks.prune_notifications",
        "schedule": crontab(minute=57, hour=3),
    },
    "sweep-webhooks": {
        "task": "webhooks.tasks.sweep_webhooks",
        "schedule": 30,
    },
    "prune-webhook-deliveries": {
        "task": "webhooks.tasks.prune_webhook_deliveries",
        "schedule": crontab(minute=57, hour=3),
    },
    "prune-unconfirmed-sign-ups": {
        "task": "accounts.tasks.prune_unconfirmed_sign_ups",
        "schedule": crontab(minute=37, hour=3),
    },
}
# Two queues, so that periodic work never waits behind a backlog of sends. Sends (orders, refills, cancels,
# mails) go to the default queue; what beat starts, and the per-provider syncs it fans out to, go to their
# own, which a worker of its own serves (`celery worker -Q periodic`; the sending workers take `-Q celery`).
# A worker started without -Q serves both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
PERIODIC_QUEUE = "periodic"
PERIODIC_TASKS = {entry["task"] for entry in CELERY_BEAT_SCHEDULE.values()} | {
    "panels.tasks.sync_catalogue",
    "panels.tasks.sync_balance",
    "orders.tasks.sync_order_statuses",
    "orders.tasks.auto_refill_provider",
}
CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(PERIODIC_QUEUE)]
CELERY_TASK_ROUTES = {task: {"queue": PERIODIC_QUEUE} for task in sorted(PERIODIC_TASKS)}

# Who is told when something needs an operator (a provider out of funds, …): "Name <email>, …".
ADMINS = [
    (name.strip(), email.strip(" >"))
    for name, _, email in (entry.partition("<") for entry in env.list("DJANGO_ADMINS", default=[]))
]
SERVER_EMAIL = env.str("DJANGO_SERVER_EMAIL", default="panel@localhost")

# --- Money ---------------------------------------------------------------------------------------
# The currency customers pay in (provider money stays in each provider's own currency).
PANEL_CURRENCY = env.str("PANEL_CURRENCY", default="USD")
# Subscriptions without a posts limit are bought for this many posts (a prepaid balance needs a bound).
SUBSCRIPTION_DEFAULT_POSTS = env.int("SUBSCRIPTION_DEFAULT_POSTS", default=30)

# Payment gateways customers are offered besides the manual payment (billing.gateways): none unless listed.
PAYMENT_GATEWAYS = env.list("PAYMENT_GATEWAYS", default=[])
# The sandbox gateway credits balances with no money moving: only the demo and test settings allow it, never
# from the environment (billing.checks refuses it otherwise, and billing.gateways never offers it).
PAYMENT_SANDBOX_ALLOWED = False
# Where each processor's hosted payment page is (the Content-Security-Policy lets the funds form go there).
PAYMENT_PAGES = {"stripe": "https://checkout.stripe.com", "nowpayments": "https://nowpayments.io"}
# The sandbox signs its callbacks with this, its own secret (required when it is enabled).
SANDBOX_GATEWAY_SECRET = env.str("SANDBOX_GATEWAY_SECRET", default="")
# Stripe (billing.processors.stripe): the secret API key, the webhook endpoint's signing secret (both from
# Stripe's dashboard; empty: Stripe refuses to start payments and to read notifications), and where its API
# is (empty: Stripe itself; the tests point it at the local fake).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# NOWPayments (crypto, billing.processors.nowpayments): the API key creates invoices, the IPN secret verifies
# their callbacks; either empty, and the processor starts nothing and accepts no notification.
NOWPAYMENTS_API_KEY = env.str("NOWPAYMENTS_API_KEY", default="")
NOWPAYMENTS_IPN_SECRET = env.str("NOWPAYMENTS_IPN_SECRET", default="")
NOWPAYMENTS_API_BASE = env.str("NOWPAYMENTS_API_BASE", default="https://api.nowpayments.io/v1")

# Referrals (referrals/): how long a visit through a customer's link counts toward a sign-up, the commission
# on each referral's credited deposit (an affiliate may have their own rate), the smallest payout into the
# main balance, and whether an operator approves payouts first.
REFERRAL_COOKIE_DAYS = env.int("REFERRAL_COOKIE_DAYS", default=60)
REFERRAL_COMMISSION_PERCENT = Decimal(env.str("REFERRAL_COMMISSION_PERCENT", default="5"))
REFERRAL_PAYOUT_MINIMUM = Decimal(env.str("REFERRAL_PAYOUT_MINIMUM", default="10"))
REFERRAL_PAYOUTS_NEED_APPROVAL = env.bool("REFERRAL_PAYOUTS_NEED_APPROVAL", default=False)

# Support tickets (support/): attachments are stored here, outside every URL the web server serves, and
# handed out only by a view that checks who asks; each at most this big, this many to a message. Tickets a
# customer may open ("N/hour"; limits' syntax), so nobody floods the queue.
SUPPORT_ATTACHMENTS_DIR = Path(
    env.str("SUPPORT_ATTACHMENTS_DIR", default=str(VAR_DIR / "support-attachments"))
)
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
SUPPORT_ATTACHMENTS_PER_MESSAGE = env.int("SUPPORT_ATTACHMENTS_PER_MESSAGE", default=3)
SUPPORT_TICKETS_PER_CUSTOMER = env.str("SUPPORT_TICKETS_PER_CUSTOMER", default="10/hour")

# --- Providers ------------------------------------------------------------------------------------
# Shared store of the per-provider call rate limits (the `limits` package): Redis across all workers.
RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
RATELIMIT_NAMESPACE = env.str("RATELIMIT_NAMESPACE", default="reseller")
PROVIDER_CALL_LOG_DAYS = env.int("PROVIDER_CALL_LOG_DAYS", default=30)
# Status calls in flight at once per provider during a status sync (each asks for 100 orders).
STATUS_SYNC_CONCURRENCY = env.int("STATUS_SYNC_CONCURRENCY", default=4)
# An open order the provider's status answers stop accounting for (an error for its id, left out, a status
# nobody knows) joins the review queue after this long and at least this many syncs in a row.
UNACCOUNTED_REVIEW_MINUTES = env.int("UNACCOUNTED_REVIEW_MINUTES", default=30)
UNACCOUNTED_REVIEW_SYNCS = env.int("UNACCOUNTED_REVIEW_SYNCS", default=3)
# Read-only calls (services, status, balance) are tried this many times, backing off from the first wait.
PROVIDER_CALL_ATTEMPTS = env.int("PROVIDER_CALL_ATTEMPTS", default=3)
PROVIDER_RETRY_BACKOFF = env.float("PROVIDER_RETRY_BACKOFF", default=0.5)
# The circuit breaker (panels/health.py): a provider with at least BREAKER_MIN_FAILED failed calls (nothing
# sent, or no valid answer) making BREAKER_FAILED_PERCENT of its calls in the last BREAKER_WINDOW_SECONDS is
# marked down for BREAKER_COOLOFF_SECONDS; then one trial call decides (a trial unanswered for
# BREAKER_TRIAL_SECONDS lets another try).
BREAKER_WINDOW_SECONDS = env.int("BREAKER_WINDOW_SECONDS", default=120)
BREAKER_MIN_FAILED = env.int("BREAKER_MIN_FAILED", default=5)
BREAKER_FAILED_PERCENT = env.int("BREAKER_FAILED_PERCENT", default=50)
BREAKER_COOLOFF_SECONDS = env.int("BREAKER_COOLOFF_SECONDS", default=300)
BREAKER_TRIAL_SECONDS = env.int("BREAKER_TRIAL_SECONDS", default=60)
# Routing (orders/routing.py): whether "You have active order with this link" at one route sends the order
# to the next route (another provider works on the same link meanwhile) or makes it wait, as with one route.
ROUTE_FAILOVER_ON_ACTIVE_LINK = env.bool("ROUTE_FAILOVER_ON_ACTIVE_LINK", default=True)

# --- APIs for resellers ------------------------------------------------------------------------------
# Calls per key (DRF throttle rate: "N/s", "N/min", "N/hour"); a panel syncing 100,000 orders a minute
# through API v2 needs 1,000 status calls a minute.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="1200/min")
API_REQUEST_LOG_DAYS = env.int("API_REQUEST_LOG_DAYS", default=30)
# How long a storefront form's one-time token is remembered: that page sent again places nothing.
FORM_SUBMISSION_DAYS = env.int("FORM_SUBMISSION_DAYS", default=30)
# Bodies above this are refused before they are read (a custom-comments list of 10,000 lines fits).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # One JSON parser for both APIs (depth bounded, no NaN, no unstorable text); Django's refusals of
    # oversized bodies and too many fields answered in DRF's shape, not as an HTML page.
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "api.parsers.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "api.renderers.BrowsableAPIRenderer",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    # The pages and the schema say the panel's name as branded (api.docs); this only if that fails.
    "TITLE": "REST API",
    "DESCRIPTION": (
        "Services, orders (with their history), refills, cancels, balance and ledger of the calling "
        "customer. Authenticate with your API key: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. "
        "Money is a string in the panel's currency."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.docs.schema_branded"],
    # No badge image from the public validator: the docs load nothing from another host.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # ReDoc's default fonts would come from a CDN (templates/api/redoc.html loads none): the system's.
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
            }
        }
    },
}

# Content-Security-Policy (django-csp): every page loads only what the panel serves itself, with no inline
# script or style attribute. The nonce (set on a response only when a page asks for it) admits the styles
# ReDoc generates.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        # The funds form redirects to a processor's hosted payment page: browsers hold the redirect to this.
        "form-action": [SELF, *(PAYMENT_PAGES[name] for name in PAYMENT_GATEWAYS if name in PAYMENT_PAGES)],
        "frame-ancestors": [NONE],
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "storefront:dashboard"
LOGOUT_REDIRECT_URL = "storefront:home"
# Password reset mails and receipts: printed on the console unless an SMTP server is configured.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="panel@localhost")
# Operator alerts and error reports begin with it (Django's own default says "[Django]"). Unset, operator
# alerts begin with the panel's name as the Owner set it (branding), error reports with "[Reseller panel] ".
EMAIL_SUBJECT_PREFIX_SET = env.str("EMAIL_SUBJECT_PREFIX", default=None) is not None
EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[Reseller panel] ")
# A real email service instead of SMTP (django-anymail): the backend anymail.backends.<service>.EmailBackend
# (DJANGO_EMAIL_BACKEND in production) and its credentials as JSON in ANYMAIL (see README).
ANYMAIL = env.json("ANYMAIL", default={})
# Customers' one-click unsubscribe links (notifications.unsubscribe) work this long after their mail.
UNSUBSCRIBE_LINK_DAYS = env.int("UNSUBSCRIBE_LINK_DAYS", default=90)
# Customer notifications (the dedupe rows and the console's log of what was mailed) are kept this long.
NOTIFICATION_LOG_DAYS = env.int("NOTIFICATION_LOG_DAYS", default=90)
# Telegram's Bot API, for operator alerts (the tests point it at a local fake).
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org")
# The panel's address as customers reach it (https://panel.example.com), for links in mails a worker sends
# without a request to take it from; empty: those mails carry no link.
PANEL_URL = env.str("PANEL_URL", default="").rstrip("/")

# --- Webhooks for resellers (webhooks/) ---------------------------------------------------------------
# Customers' callback URLs may resolve to private, loopback, link-local… addresses only where this is on: the
# tests and the demo (a deploy check warns when it is on under production settings). Plain http likewise.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
# A receiver gets this long to connect, between bytes, and for the whole answer: a slow one holds no worker.
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=5.0)
WEBHOOKS_TOTAL_TIMEOUT = env.float("WEBHOOKS_TOTAL_TIMEOUT", default=10.0)
# Undelivered events are retried with exponential backoff (first after RETRY_BASE s, at most every
# RETRY_CAP s, ±20 % jitter) until this many hours after the event, then marked failed.
WEBHOOKS_RETRY_HOURS = env.int("WEBHOOKS_RETRY_HOURS", default=24)
WEBHOOKS_RETRY_BASE_SECONDS = env.int("WEBHOOKS_RETRY_BASE_SECONDS", default=30)
WEBHOOKS_RETRY_CAP_SECONDS = env.int("WEBHOOKS_RETRY_CAP_SECONDS", default=3600)
# One sending run takes up to this many due events, sends to up to CONCURRENCY receivers at once.
WEBHOOKS_BATCH = env.int("WEBHOOKS_BATCH", default=200)
WEBHOOKS_CONCURRENCY = env.int("WEBHOOKS_CONCURRENCY", default=8)
# Delivered and failed events stay in the customer's log this many days.
WEBHOOKS_LOG_DAYS = env.int("WEBHOOKS_LOG_DAYS", default=30)

# Each distinct server error is mailed to ADMINS at most once per this many minutes (the next mail counts
# the ones held back), so anonymous requests that cause a 500 cannot flood the operator's inbox.
ADMIN_MAIL_THROTTLE_MINUTES = env.int("ADMIN_MAIL_THROTTLE_MINUTES", default=10)
# Error reports quote the request and the settings: POST fields named like secrets and passwords inside URLs
# are hidden on every page, not only where a view declares them sensitive.
DEFAULT_EXCEPTION_REPORTER_FILTER = "reseller.log.SecretsReporterFilter"

# Every handler redacts API keys (resellers send them in query strings); Django's own loggers are
# redeclared here so that its default handlers (runserver's access lines, error mails) get the filter too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "reseller.log.RedactSecrets"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
        "mail_admins": {
            "level": "ERROR",
            "class": "reseller.log.ThrottledAdminEmailHandler",
            "filters": ["require_debug_false", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # Its debug lines quote request paths, and Telegram's has the bot token in it.
        "urllib3": {"level": "INFO"},
    },
}
