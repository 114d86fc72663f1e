"""Periodic-work locks are short leases: renewed by the running holder, reclaimed soon after it dies, and never
renewed or released by anyone but their owner — on Redis and on the database cache alike."""

import time

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django_redis.cache import RedisCache

from orders.services import orders_sync_statuses
from orders.tasks import sync_order_statuses
from panels.models import SyncRun
from reseller.locks import Lease, RedisLease, exclusive


@pytest.fixture(params=["configured", "database"])
def lock_cache(request, db, settings):
    """The cache the settings give (Redis with REDIS_URL, else in memory), and the embedded database cache."""
    if request.param == "database":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "reseller_cache",
            }
        }
        call_command("createcachetable", verbosity=0)
    forget_everything(caches["default"])
    yield request.param
    forget_everything(caches["default"])


def forget_everything(cache) -> None:
    """Empty the cache; on Redis only of this process's keys: other xdist workers share the database."""
    if isinstance(cache, RedisCache):
        cache.delete_pattern("*")
    else:
        cache.clear()


def held_by_a_crashed_worker(name: str, seconds: int) -> None:
    """A lock whose holder died: acquired, never renewed nor released."""
    with exclusive(name, lease=seconds) as lease:
        assert lease is not None
        lease.release = lambda: None  # the process is gone before its finally clause runs


def test_one_holder_at_a_time(lock_cache):
    with exclusive("job", lease=60) as first:
        assert first is not None
        assert isinstance(first, RedisLease) == (
            lock_cache == "configured" and hasattr(caches["default"], "lock")
        )
        with exclusive("job", lease=60) as second:
            assert second is None
        with exclusive("another-job", lease=60) as other:
            assert other is not None
    with exclusive("job", lease=60) as again:
        assert again is not None


def test_a_dead_holders_lock_is_reclaimed_after_its_lease(lock_cache):
    held_by_a_crashed_worker("job", seconds=1)
    with exclusive("job", lease=60) as lease:
        assert lease is None
    time.sleep(2.1)
    with exclusive("job", lease=60) as lease:
        assert lease is not None


def test_the_holder_renews_and_nobody_else_can(lock_cache):
    with exclusive("job", lease=3) as holder:
        time.sleep(1.5)
        assert holder.renew()
        time.sleep(2.6)  # past the first lease (and the database cache's second), within the renewed one
        with exclusive("job", lease=3) as other:
            assert other is None

    stale = Lease("job", 1) if not isinstance(holder, RedisLease) else RedisLease("job", 1)
    assert stale.acquire()
    time.sleep(2.1)  # it expired: someone else takes it
    with exclusive("job", lease=60) as taker:
        assert taker is not None
        assert not stale.renew()
        stale.release()  # not its lock any more: nothing happens
        with exclusive("job", lease=60) as third:
            assert third is None


class CountingLease:
    key, seconds = "lock:test", 60

    def __init__(self, keep: bool = True):
        self.renewals, self.keep = 0, keep

    def renew(self) -> bool:
        self.renewals += 1
        return self.keep


def test_the_status_sync_renews_its_lease_between_batches_and_stops_when_it_is_lost(shop, customer):
    from orders.services import order_place, order_submit
    from tests.orders.support import service_of

    _, provider = shop()
    likes = service_of(provider, "Default", refill=False)
    for n in range(101):  # two batches
        order = order_place(
            user=customer, service=likes, data={"link": f"https://x.example/{n}", "quantity": "10"}
        )
        order_submit(order_id=order.pk)

    lease = CountingLease()
    assert orders_sync_statuses(provider=provider, lease=lease).checked == 101
    assert lease.renewals >= 2  # once per batch at least

    lost = CountingLease(keep=False)
    result = orders_sync_statuses(provider=provider, lease=lost)
    assert result.lock_lost and result.checked == 0 and lost.renewals == 1


def test_a_crashed_status_sync_costs_at_most_two_intervals(lock_cache, provider, settings):
    settings.STATUS_SYNC_SECONDS = 1  # the lease is two intervals: 2 s
    held_by_a_crashed_worker(f"status-sync:{provider.pk}", seconds=2 * settings.STATUS_SYNC_SECONDS)

    sync_order_statuses(provider.pk)
    assert not SyncRun.objects.exists()  # never two at once

    time.sleep(3.1)  # the lease, and the database cache's one-second resolution
    sync_order_statuses(provider.pk)
    assert SyncRun.objects.get().ok
