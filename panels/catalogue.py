"""The catalogue mirror: a provider's service list copied into ``ProviderService`` rows.

One sync = one ``services`` call, then one transaction whose number of SQL queries does not depend
on the size of the catalogue: bulk upserts, one update for what vanished, one for what was seen.
Nothing is ever deleted: a vanished service is paused (``active=False``) and resumes when it
returns; every change of rate, min or max is kept as a ``ProviderServiceChange``.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from billing.money import PROVIDER_MONEY_FIELD
from panels.client import Catalogue, InvalidRecord, RemoteService
from panels.models import Provider, ProviderService, ProviderServiceChange, SyncRun
from panels.services import provider_client, sync_run

RATE_PLACES = Decimal(10) ** -PROVIDER_MONEY_FIELD["decimal_places"]
MAX_RATE = Decimal(10) ** (PROVIDER_MONEY_FIELD["max_digits"] - PROVIDER_MONEY_FIELD["decimal_places"])


# Sent after a successful sync has committed, with ``provider`` and ``result``: the catalogue app follows.
catalogue_synced = Signal()


class CatalogueRefused(Exception):
    """The provider's answer was readable but not trustworthy enough to apply."""


@dataclass
class CatalogueSyncResult:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    unchanged: int = 0
    invalid: list[InvalidRecord] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.changed) + len(self.resumed) + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.total} services: {len(self.created)} new, {len(self.changed)} changed, "
            f"{len(self.paused)} paused (vanished), {len(self.resumed)} resumed, "
            f"{self.unchanged} unchanged, {len(self.invalid)} unreadable"
        )


def catalogue_sync(*, provider: Provider, allow_empty: bool = False) -> CatalogueSyncResult:
    """Fetch the provider's services and mirror them. On any error nothing is written.

    An empty list while services are active is refused unless ``allow_empty``: providers glitch
    far more often than they really withdraw their whole catalogue.
    """
    with sync_run(provider=provider, kind=SyncRun.Kind.CATALOGUE) as run:
        catalogue = provider_client(provider).services()  # the network, outside any transaction
        if not catalogue.services and not allow_empty and provider.services.filter(active=True).exists():
            raise CatalogueRefused(
                "The provider returned an empty service list; the catalogue was left as it was."
            )
        with transaction.atomic():
            # Serialises syncs of one provider (beat, admin and command may overlap).
            Provider.objects.select_for_update().filter(pk=provider.pk).values("pk").get()
            result = _apply(provider=provider, catalogue=catalogue, run=run)
            run.ok, run.finished_at = True, timezone.now()
            run.summary = result.summary()
            run.created, run.changed = len(result.created), len(result.changed)
            run.paused, run.resumed, run.invalid = (
                len(result.paused),
                len(result.resumed),
                len(result.invalid),
            )
            run.save()
    catalogue_synced.send(sender=Provider, provider=provider, result=result)
    return result


def _apply(*, provider: Provider, catalogue: Catalogue, run: SyncRun) -> CatalogueSyncResult:
    now = timezone.now()
    result = CatalogueSyncResult(invalid=list(catalogue.invalid))
    remote_by_id: dict[str, RemoteService] = {}
    for remote in catalogue.services:
        if _rate(remote) >= MAX_RATE:  # rounded as the column keeps it
            result.invalid.append(InvalidRecord(remote.remote_id, f"rate {remote.rate} is out of range"))
        elif remote.remote_id in remote_by_id:
            result.invalid.append(InvalidRecord(remote.remote_id, "listed twice; the first entry was kept"))
        else:
            remote_by_id[remote.remote_id] = remote
    # An entry we could not read is still *there*: never pause it for being unreadable.
    unreadable_ids = {record.remote_id for record in result.invalid if record.remote_id}

    existing = {service.remote_id: service for service in ProviderService.objects.filter(provider=provider)}
    upserts: list[ProviderService] = []
    history: list[ProviderServiceChange] = []
    for remote_id, remote in remote_by_id.items():
        local = existing.get(remote_id)
        values = _mirrored_values(remote)
        if local is None:
            result.created.append(remote_id)
            upserts.append(
                ProviderService(provider=provider, remote_id=remote_id, first_seen_at=now, **values)
            )
            continue
        differs = any(getattr(local, name) != value for name, value in values.items())
        if any(getattr(local, name) != values[name] for name in ProviderService.TRACKED_FIELDS):
            history.append(_change(local, remote, run=run, at=now))
        if not local.active:
            result.resumed.append(remote_id)
        elif differs:
            result.changed.append(remote_id)
        else:
            result.unchanged += 1
            continue
        upserts.append(ProviderService(provider=provider, remote_id=remote_id, **values))

    vanished = [
        local
        for remote_id, local in existing.items()
        if local.active and remote_id not in remote_by_id and remote_id not in unreadable_ids
    ]
    result.paused = [local.remote_id for local in vanished]

    if upserts:
        # New, changed and returning services in one INSERT … ON CONFLICT DO UPDATE.
        for service in upserts:
            service.active, service.vanished_at, service.last_seen_at, service.updated_at = (
                True,
                None,
                now,
                now,
            )
        ProviderService.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["provider", "remote_id"],
            update_fields=[
                *ProviderService.MIRRORED_FIELDS,
                "active",
                "vanished_at",
                "last_seen_at",
                "updated_at",
            ],
        )
    if history:
        ProviderServiceChange.objects.bulk_create(history)
    if vanished:
        ProviderService.objects.filter(pk__in=[local.pk for local in vanished]).update(
            active=False, vanished_at=now, updated_at=now
        )
    # Everything else that was listed was seen now, whether or not it changed.
    ProviderService.objects.filter(provider=provider, active=True, last_seen_at__lt=now).exclude(
        remote_id__in=unreadable_ids
    ).update(last_seen_at=now)
    return result


def _mirrored_values(remote: RemoteService) -> dict:
    return {
        "name": remote.name[:500],
        "type": remote.type[:64],
        "category": remote.category[:255],
        "rate": _rate(remote),
        "min_quantity": remote.min,
        "max_quantity": remote.max,
        "refill": remote.refill,
        "cancel": remote.cancel,
        "dripfeed": remote.dripfeed,
        "description": remote.description,
        "raw": remote.raw,
    }


def _rate(remote: RemoteService) -> Decimal:
    """The rate as the column stores it, so an unchanged rate compares equal on the next sync."""
    return remote.rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _change(local: ProviderService, remote: RemoteService, *, run: SyncRun, at) -> ProviderServiceChange:
    return ProviderServiceChange(
        service=local,
        sync_run=run,
        changed_at=at,
        old_rate=local.rate,
        new_rate=_rate(remote),
        old_min=local.min_quantity,
        new_min=remote.min,
        old_max=local.max_quantity,
        new_max=remote.max,
    )
