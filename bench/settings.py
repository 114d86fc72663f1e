"""The API benchmark's server: test settings, a bare view beside the real URLs, no throttle."""

from reseller.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
API_RATE_LIMIT = "100000000/min"
DEBUG = False
