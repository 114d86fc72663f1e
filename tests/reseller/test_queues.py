"""Periodic work has a queue of its own, which a worker always serves: a backlog of sends never holds up the
status syncs, the sweeper or the heartbeat (issue 19)."""

import shlex
from pathlib import Path

import yaml
from django.conf import settings

from orders import tasks as order_tasks
from panels import tasks as provider_tasks
from reseller.celery import app
from reseller.settings import base

# Every task decides its queue: a new task fails here until it is named a send or a periodic task.
SENDS = {
    "orders.tasks.dispatch_orders",
    "orders.tasks.send_refill",
    "orders.tasks.send_cancel",
    "console.tasks.heartbeat_sending",
    "notifications.tasks.customer_mail",
    "notifications.tasks.operator_message",
    "accounts.tasks.password_reset_mail",
    "webhooks.tasks.deliver_webhooks",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_every_task_is_a_send_or_periodic_work_and_goes_to_its_queue():
    app.loader.import_default_modules()  # what a worker does at start: import every app's tasks
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert ours == SENDS | settings.PERIODIC_TASKS
    assert scheduled <= settings.PERIODIC_TASKS
    assert {name: queue_of(name) for name in settings.PERIODIC_TASKS} == dict.fromkeys(
        settings.PERIODIC_TASKS, settings.PERIODIC_QUEUE
    )
    assert {name: queue_of(name) for name in SENDS} == dict.fromkeys(
        SENDS, settings.CELERY_TASK_DEFAULT_QUEUE
    )
    # A worker started without -Q serves both.
    assert {queue.name for queue in app.conf.task_queues} == {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        settings.PERIODIC_QUEUE,
    }


def test_what_periodic_work_fans_out_stays_on_the_periodic_queue(provider, published):
    order_tasks.sync_all_order_statuses()
    provider_tasks.sync_all_catalogues()
    provider_tasks.sync_all_balances()

    assert sorted((task, queue) for task, queue, _ in published) == [
        ("orders.tasks.sync_order_statuses", settings.PERIODIC_QUEUE),
        ("panels.tasks.sync_balance", settings.PERIODIC_QUEUE),
        ("panels.tasks.sync_catalogue", settings.PERIODIC_QUEUE),
    ]


def test_the_sweeper_kicks_dispatchers_on_the_sending_queue(placed, published):
    order = placed(next_attempt_at=None)  # due, and its provider's dispatcher never kicked

    order_tasks.sweep_orders()

    assert published == [
        ("orders.tasks.dispatch_orders", settings.CELERY_TASK_DEFAULT_QUEUE, (order.provider_id,))
    ]


def test_the_deployment_runs_a_worker_for_each_queue():
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    served = {}
    for name, service in compose["services"].items():
        argv = shlex.split(service.get("command", ""))
        if argv[:4] == ["celery", "-A", "reseller", "worker"]:
            served[name] = argv[argv.index("-Q") + 1]

    assert served == {"worker": base.CELERY_TASK_DEFAULT_QUEUE, "worker-periodic": base.PERIODIC_QUEUE}
