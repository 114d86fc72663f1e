"""Cached copies of rows are served until a writer forgets them, and never after — not even a copy that a
reader which raced the writer stored late, nor one stored before the version itself was evicted."""

import uuid

import pytest
from django.core.cache import cache

from reseller.versioned_cache import VersionedCache


@pytest.fixture
def family(db):
    return VersionedCache(f"test-{uuid.uuid4().hex}")


def loads(values):
    """A loader that answers ``values`` one after another and counts its calls."""
    answers = iter(values)

    def load():
        load.calls += 1
        return next(answers)

    load.calls = 0
    return load


def test_a_value_is_loaded_once_then_served_until_forgotten(family):
    load = loads(["first", "second"])
    family.get("k", load)  # no version yet: one is made, nothing stored
    assert family.get("k", load) == "second"
    assert family.get("k", load) == "second"
    assert load.calls == 2
    family.forget()
    assert family.get("k", loads(["third"])) == "third"


def test_none_is_a_value_too(family):
    family.get("k", loads([None]))
    load = loads([None])
    family.get("k", load)
    assert family.get("k", loads(["never"])) is None
    assert load.calls == 1


def test_a_copy_read_before_the_writer_forgot_is_never_served(family):
    family.get("k", loads(["old"]))  # the version exists

    def racing_load():  # the reader read the rows, then the writer committed and forgot, then it stores
        family.forget()
        return "stale"

    assert family.get("k", racing_load) == "stale"  # this caller's own answer, as read
    assert family.get("k", loads(["fresh"])) == "fresh"


def test_an_evicted_version_never_revives_an_old_copy(family):
    family.get("k", loads(["v"]))
    family.get("k", loads(["before"]))
    cache.delete(family.version_key)  # evicted
    assert family.get("k", loads(["after"])) == "after"
    assert family.get("k", loads(["again"])) == "again"  # a new version: the copy from before is not it
