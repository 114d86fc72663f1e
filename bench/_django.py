"""Shared set-up for benchmarks: Django on the test settings, inside a throwaway test database."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import django


@contextmanager
def benchmark_database() -> Iterator[None]:
    """Create a fresh test database (PostgreSQL when DATABASE_URL is set), drop it afterwards."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseller.settings.test")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
