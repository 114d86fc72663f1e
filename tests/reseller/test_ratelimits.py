"""The shared rate limiter of a process is built once, however many threads ask for it first."""

import threading
import time

from reseller import ratelimits


def test_threads_using_the_limiter_first_at_once_share_one(monkeypatch):
    built = []
    real = ratelimits.storage_from_string

    def slow_storage(uri):
        time.sleep(0.02)  # as the first import of the storage's client library takes
        built.append(uri)
        return real(uri)

    monkeypatch.setattr(ratelimits, "storage_from_string", slow_storage)
    ratelimits._limiter.cache_clear()
    start, limiters = threading.Barrier(8), []

    def first_use():
        start.wait()
        limiters.append(ratelimits.rate_limiter())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        ratelimits._limiter.cache_clear()
    assert len(built) == 1
    assert len({id(limiter) for limiter in limiters}) == 1
