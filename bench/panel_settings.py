"""The dispatch benchmark's processes (the bench itself, its Celery workers and beat): the panel as it is
deployed — Redis and PostgreSQL when ``REDIS_URL`` / ``DATABASE_URL`` are set, the embedded default
otherwise — in a database, broker queues and keys of the run's own (``BENCH_RUN``, set by the bench)."""

import os

from kombu import Queue

from reseller.settings.local import *  # noqa: F403
from reseller.settings.local import CACHES, DATABASES, PERIODIC_TASKS, REDIS_URL, VAR_DIR

_run = os.environ["BENCH_RUN"]
RATELIMIT_NAMESPACE = _run
if REDIS_URL:
    # Redis is shared with other runs and panels: a worker of this run takes only this run's tasks.
    CACHES["default"]["KEY_PREFIX"] = _run
    CELERY_TASK_DEFAULT_QUEUE, PERIODIC_QUEUE = f"{_run}-celery", f"{_run}-periodic"
    CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(PERIODIC_QUEUE)]
    CELERY_TASK_ROUTES = {task: {"queue": PERIODIC_QUEUE} for task in sorted(PERIODIC_TASKS)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The throwaway database is the embedded panel's own file in the run's VAR_DIR, which the workers open.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "db.sqlite3")}
