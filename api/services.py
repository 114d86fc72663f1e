"""API keys: issued, rotated, checked; and the per-key request log."""

import re
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_api_key.crypto import KeyGenerator

from api.models import ApiKey, ApiRequest
from audit.services import audit_record, audit_records
from reseller.json_input import storable
from reseller.log import redact_secrets
from reseller.versioned_cache import VersionedCache

_keys = KeyGenerator(prefix_length=8, secret_key_length=32)
KEY_SHAPE = re.compile(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}")
# The live key of each prefix, with its user, as every call reads it. Forgotten by whatever changes a key or a
# user: issuing and revoking here, saving or deleting either (api.receivers), enabling or disabling customers.
live_keys = VersionedCache("api:live-keys")


class KeyRefused(Exception):
    """The key is unknown, revoked or malformed, or its account is disabled. The message is safe to show."""


def api_key_issue(*, user, actor=None) -> tuple[ApiKey, str]:
    """A new key for ``user``; the previous one stops working at once. Only here is the full key known:
    the audit row names the key by its prefix (shown on pages and in logs), never more of it."""
    raw, prefix, hashed = _keys.generate()
    with transaction.atomic():
        # Two rotations at once (two tabs, two scripts) take turns on the user's row: otherwise both revoke
        # the same old key and both insert, and the one-live-key constraint fails the second.
        get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk").get()
        api_keys_revoke(ApiKey.objects.filter(user=user), actor=actor, reason="Replaced by a new key.")
        key = ApiKey.objects.create(user=user, prefix=prefix, hashed_key=hashed)
        audit_record(actor=actor, verb="issue", target=key, changes={"prefix": [None, prefix]})
    return key, raw


def api_keys_revoke(keys: QuerySet[ApiKey], *, actor=None, reason: str = "") -> int:
    """Stop ``keys`` working at once; returns how many were live."""
    now = timezone.now()
    with transaction.atomic():
        live = list(
            ApiKey.objects.select_for_update().filter(pk__in=keys.values("pk"), revoked_at__isnull=True)
        )
        count = ApiKey.objects.filter(pk__in=[key.pk for key in live]).update(revoked_at=now)
        live_keys.forget()
        audit_records(
            actor=actor,
            verb="revoke",
            changed=[(key, {"revoked_at": [None, now.isoformat()]}) for key in live],
            reason=reason,
        )
    return count


def api_key_check(raw: str) -> ApiKey:
    """The live key ``raw`` is, with its user: from the cache (``live_keys``), else one query. Raises
    ``KeyRefused``."""
    if not KEY_SHAPE.fullmatch(raw or ""):
        raise KeyRefused("Invalid API key")
    prefix = raw.partition(".")[0]
    key = live_keys.get(
        prefix,
        lambda: ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first(),
    )
    if key is None or not _keys.verify(raw, key.hashed_key):
        raise KeyRefused("Invalid API key")
    if not key.user.is_active:
        raise KeyRefused("This account is disabled")
    return key


def api_request_log(
    *,
    key: ApiKey,
    interface: str,
    action: str,
    http_status: int,
    error: str,
    ip: str | None,
    duration_ms: int,
) -> None:
    """One row of the key's log. On its own (no caller's transaction) it is one statement committed without
    waiting for the disk: the log is not money, and a flushed commit (~2 ms) cost more than the rest of a
    ``status`` call. A crash of the database server can lose its last fraction of a second of rows; nothing
    else can."""
    values = {
        "api_key_id": key.pk,
        "user_id": key.user_id,
        "interface": interface,
        # A path or a quoted field value may hold a key that was sent in the wrong place, or a NUL
        # (/api/v1/orders/%00/), which PostgreSQL refuses: the log must never fail the request.
        "action": storable(redact_secrets(action))[:64],
        "http_status": http_status,
        "error": storable(redact_secrets(error))[:255],
        "ip": ip,
        "duration_ms": duration_ms,
        "created_at": timezone.now(),
    }
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        _insert_unflushed(values)
    else:
        ApiRequest(**values).save(force_insert=True)


def _insert_unflushed(values: dict) -> None:
    """The row of ``values`` (attribute name → value) inserted by one round trip, a transaction of its own
    whose commit does not wait for the disk (several statements in one query string run as one transaction).
    No model instance: building one cost as much as the statement."""
    sql, fields = _unflushed_insert()
    db = transaction.get_connection()  # once: each use of ``connection`` looks it up again
    with db.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_save(values[field.attname], db) for field in fields])


@cache
def _unflushed_insert() -> tuple[str, list]:
    fields = [field for field in ApiRequest._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    table, columns = quote(ApiRequest._meta.db_table), ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"SET LOCAL synchronous_commit TO OFF; INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - names from the model, values as parameters
    return sql, fields


def api_requests_prune(*, now=None) -> int:
    """Forget requests older than API_REQUEST_LOG_DAYS; returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.API_REQUEST_LOG_DAYS)
    deleted, _ = ApiRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
