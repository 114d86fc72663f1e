"""The audit trail's one writer (Zulip's ``RealmAuditLog`` style): every operator action calls
``audit_record`` inside the transaction that makes the change, so the row and the change commit or vanish
together. Values are stored as text for people to read; a secret's value never is."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.models import AuditEntry
from reseller.log import redact_secrets

# What a secret field's change shows instead of its values.
SECRET_BEFORE = "(secret)"  # noqa: S105 (a placeholder, not a password)
SECRET_AFTER = "(new secret)"  # noqa: S105
# Fields holding secrets wherever they appear: provider and API keys, password hashes, two-factor seeds and
# recovery codes, and what a failed login posted (django-axes). A form field drawn as a password box counts
# too (``AuditedAdmin``).
SECRET_FIELDS = frozenset({"api_key", "hashed_key", "password", "key", "token", "secret", "post_data"})


def shown(value) -> object:
    """``value`` as the audit row keeps it: JSON, readable, never a key (a key pasted in a note is masked)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset | models.QuerySet):
        return sorted(str(shown(item)) for item in value)
    return redact_secrets(str(value))


def audited_values(obj: models.Model, names: Iterable[str]) -> dict:
    """What ``obj`` holds in the fields ``names``, as people read them: a related object by its name, a
    many-to-many field as the names chosen, an amount with its column's places (as stored, as typed)."""
    values = {}
    for name in names:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            values[name] = sorted(str(related) for related in getattr(obj, name).all()) if obj.pk else []
        elif field.is_relation:
            values[name] = str(getattr(obj, name)) if field.value_from_object(obj) is not None else None
        elif isinstance(field, models.DecimalField) and isinstance(field.value_from_object(obj), Decimal):
            values[name] = field.value_from_object(obj).quantize(Decimal(10) ** -field.decimal_places)
        elif isinstance(field.value_from_object(obj), datetime.datetime):
            # The admin's date and time boxes show whole seconds: saving a page is not a change of time.
            values[name] = field.value_from_object(obj).replace(microsecond=0)
        else:
            values[name] = field.value_from_object(obj)
    return values


def audit_changes(before: dict, after: dict, *, secret: Iterable[str] = ()) -> dict:
    """``{field: [before, after]}`` for each field whose value differs; a secret says only that it changed."""
    secret = SECRET_FIELDS | set(secret)
    changes = {}
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in secret:
            changes[name] = [SECRET_BEFORE if old else None, SECRET_AFTER if new else None]
        else:
            changes[name] = [old, new]
    return dict(sorted(changes.items()))


def _entry(*, actor, verb: str, target, changes: dict | None, reason: str) -> AuditEntry:
    """``target`` is the object acted on, or its model for an action on no one object."""
    model = target if isinstance(target, type) else type(target)
    opts = model._meta
    is_object = not isinstance(target, type)
    return AuditEntry(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=actor.get_username() if getattr(actor, "pk", None) else "",
        action=f"{opts.app_label}.{opts.model_name}.{verb}",
        target_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        target_id=str(target.pk) if is_object else "",
        target_repr=shown(str(target) if is_object else opts.verbose_name_plural)[:200],
        changes={name: [shown(before), shown(after)] for name, (before, after) in (changes or {}).items()},
        reason=shown(reason or ""),
    )


def audit_record(*, actor, verb: str, target, changes: dict | None = None, reason: str = "") -> AuditEntry:
    """Record that ``actor`` (a user; None for a management command) did ``verb`` to ``target``.
    Call it inside the transaction of the change."""
    entry = _entry(actor=actor, verb=verb, target=target, changes=changes, reason=reason)
    entry.save()
    return entry


def audit_records(
    *, actor, verb: str, changed: Iterable[tuple[models.Model, dict]], reason: str = ""
) -> None:
    """``audit_record`` for many objects at once (publishing a catalogue): one insert."""
    AuditEntry.objects.bulk_create(
        _entry(actor=actor, verb=verb, target=target, changes=changes, reason=reason)
        for target, changes in changed
    )
