"""Statuses declared once: a model's states, the moves between them, and how each face groups them.

Each stateful model (orders, refills, top-ups, storefront services) declares one ``StateTable`` as its
``states`` attribute. The transition table, the open and final states, the public spelling (API v2's
canonical statuses) and the groups that customer tabs, REST filters and console counts use all come from
it; nothing else spells a status list by hand.

``transition()`` is the one way a single row changes state: a compare-and-set ``UPDATE`` (it takes the row's
lock and refuses a row that moved since it was read), only to a state the table allows, only of fields the
model has, and an event written by the model in the same transaction.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import slugify

from reseller.bulk import rows_insert, rows_update

# Sent by ``transition()`` and ``transitions_apply()`` (``public_status_announce``) inside the moves'
# transaction, once for all the rows of ``sender`` (the model) whose status as customers see it
# (``public_status``) changed: ``changes``, a list of ``StatusChange`` — one for ``transition()``, a hundred
# for a status sync's batch. Receivers handle the list at once, in a fixed number of statements, and defer
# telling anyone outside (mails, webhooks) with ``transaction.on_commit``: a rolled-back move tells nobody.
public_status_changed = Signal()


@dataclass(frozen=True)
class StatusChange:
    """A row whose public status moved from ``before`` to ``after`` (public spellings)."""

    instance: models.Model
    before: str
    after: str


def public_status_announce(model, moved: Iterable[tuple[models.Model, str]]) -> None:
    """Send ``public_status_changed`` once for the rows of ``moved`` (a row, its public status before) whose
    public status is another now."""
    changes = [
        StatusChange(instance, before, instance.public_status)
        for instance, before in moved
        if instance.public_status != before
    ]
    if changes:
        public_status_changed.send(sender=model, changes=changes)


class TransitionRefused(Exception):
    """A move the table does not allow, or of a row that moved since it was read."""


@dataclass(frozen=True)
class StateGroup:
    """Statuses shown together under one name (a customer tab, a REST filter value)."""

    key: str
    label: str
    statuses: frozenset[str]


@dataclass(frozen=True)
class StateTable:
    """The states of one model. ``public`` spells each state as customers and resellers see it; states
    with the same public spelling form one public group."""

    choices: type[models.TextChoices]
    transitions: Mapping[str, Iterable[str]]
    final: frozenset[str]
    public: Mapping[str, Enum]
    named: Mapping[str, Iterable[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        states = set(self.choices.values)
        moves = {source: frozenset(targets) for source, targets in self.transitions.items()}
        object.__setattr__(self, "transitions", moves)
        object.__setattr__(self, "final", frozenset(self.final))
        object.__setattr__(self, "named", {name: frozenset(group) for name, group in self.named.items()})
        problems = []
        if set(moves) != states:
            problems.append(f"transitions must list every state, got {sorted(set(moves) ^ states)}")
        if unknown := set().union(*moves.values(), self.final, *self.named.values()) - states:
            problems.append(f"unknown states {sorted(unknown)}")
        if set(self.public) != states:
            problems.append(f"public must spell every state, got {sorted(set(self.public) ^ states)}")
        if problems:
            raise ValueError(f"{self.choices.__qualname__}: " + "; ".join(problems))

    @property
    def open(self) -> frozenset[str]:
        return frozenset(self.choices.values) - self.final

    def allows(self, source: str, target: str) -> bool:
        return target in self.transitions[source]

    def group(self, name: str) -> frozenset[str]:
        return self.named[name]

    def public_groups(self) -> list[StateGroup]:
        """One group per public spelling (``in_progress`` → "In progress"), in the order its enum declares
        the spellings."""
        groups: dict[str, set[str]] = {}
        for state in self.choices.values:
            groups.setdefault(self.public[state], set()).add(state)
        spellings = sorted(groups, key=lambda spelling: list(type(spelling)).index(spelling))
        return [
            StateGroup(
                key=slugify(spelling).replace("-", "_"),
                # Choices carry a label; the providers' spellings are their own label.
                label=str(getattr(spelling, "label", spelling)),
                statuses=frozenset(groups[spelling]),
            )
            for spelling in spellings
        ]

    def mermaid(self) -> str:
        """The table as a Mermaid state diagram, as docs/architecture.md shows it (a test holds it true)."""
        states = self.choices.values
        lines = ["stateDiagram-v2"]
        lines += [
            f"    {source} --> {target}"
            for source in states
            for target in states
            if self.allows(source, target)
        ]
        lines += [f"    {state} --> [*]" for state in self.choices.values if state in self.final]
        return "\n".join(lines)

    def public_group(self, key: str) -> StateGroup | None:
        return next((group for group in self.public_groups() if group.key == key), None)


def transition(instance, to: str, *, message: str, public: str = "", actor=None, changes=None) -> None:
    """Move ``instance`` to ``to``, with ``changes`` to other fields, and record the event.

    Refused (``TransitionRefused``) when the table has no such move, or when the row's status in the
    database is no longer the one ``instance`` was read with. ``changes`` naming a field the model does
    not have is a ``TypeError``. The model's ``on_transition(source, to)`` may add bookkeeping fields; its
    ``record_transition(...)`` writes the event.
    """
    model = type(instance)
    source = instance.status
    fields = _move_fields(instance, to, changes)
    shown_before = instance.public_status
    with transaction.atomic():
        moved = model._base_manager.filter(pk=instance.pk, status=source).update(**fields)
        if not moved:
            raise TransitionRefused(f"{instance} is no longer {model.states.choices(source).label}.")
        for name, value in fields.items():
            setattr(instance, name, value)
        instance.record_transition(
            source=source, message=message, public=public, actor=actor, shown_before=shown_before
        )
        public_status_announce(model, [(instance, shown_before)])


@dataclass(frozen=True)
class Move:
    """One row's move for ``transitions_apply``: what ``transition`` takes."""

    instance: models.Model
    to: str
    message: str
    changes: Mapping = field(default_factory=dict)


def transitions_apply(moves: list[Move], *, events: Sequence[models.Model] = ()) -> None:
    """Make many moves of one model's rows as ``transition`` makes each — the table, known fields only,
    compare-and-set on the status, an event per move, the signal for the rows whose public status changed — in
    a fixed number of statements: one ``UPDATE`` of every row, one ``INSERT`` of every event (the model's
    ``transition_event``) and one signal. ``events``, the rows' other events of the same transaction (a
    refund's), go in that ``INSERT`` too, before the moves'. The caller holds the rows' locks; a row that
    moved anyway refuses them all."""
    if not moves:
        rows_insert(events)
        return
    model = type(moves[0].instance)
    planned = [
        (
            move,
            move.instance.status,
            move.instance.public_status,
            _move_fields(move.instance, move.to, move.changes),
        )
        for move in moves
    ]
    # Every row names the same fields: one that a move leaves alone keeps its (locked) value.
    names = list(dict.fromkeys(name for *_, fields in planned for name in fields))
    rows = [
        (
            move.instance.pk,
            {name: fields.get(name, getattr(move.instance, name)) for name in names},
            {"status": source},
        )
        for move, source, _, fields in planned
    ]
    with transaction.atomic():
        if rows_update(model, rows) != len(rows):
            raise TransitionRefused(
                f"Some of {len(rows)} rows of {model.__name__} moved since they were read."
            )
        written = list(events)
        for move, source, shown_before, fields in planned:
            for name, value in fields.items():
                setattr(move.instance, name, value)
            written.append(
                move.instance.transition_event(source=source, message=move.message, shown_before=shown_before)
            )
        rows_insert(written)
        public_status_announce(model, [(move.instance, shown_before) for move, _, shown_before, _ in planned])


def _move_fields(instance, to: str, changes) -> dict:
    """The fields a move of ``instance`` to ``to`` writes, or why it may not (see ``transition``)."""
    model = type(instance)
    table: StateTable = model.states
    source = instance.status
    if not table.allows(source, to):
        raise TransitionRefused(
            f"{instance} cannot go from {table.choices(source).label} to {table.choices(to).label}."
        )
    fields = dict(changes or {})
    concrete, auto_now = _field_names(model)
    if unknown := sorted(fields.keys() - concrete):
        raise TypeError(f"{model.__name__} has no field {', '.join(unknown)}")
    fields |= instance.on_transition(source, to)
    fields["status"] = to
    if auto_now:
        now = timezone.now()
        fields |= dict.fromkeys(auto_now, now)
    return fields


@cache
def _field_names(model) -> tuple[frozenset[str], tuple[str, ...]]:
    """The names of ``model``'s concrete fields, and of those among them that are ``auto_now``: asked once per
    model, not per move of a batch."""
    concrete = model._meta.concrete_fields
    return frozenset(f.name for f in concrete), tuple(
        f.name for f in concrete if getattr(f, "auto_now", False)
    )


def transition_many(queryset: models.QuerySet, to: str, **changes) -> int:
    """Move every row of ``queryset`` the table lets go to ``to`` (bulk, for catalogue-wide changes whose
    history is the audit trail, not a per-row event). Returns how many moved."""
    table: StateTable = queryset.model.states
    sources = [state for state in table.choices.values if table.allows(state, to)]
    return queryset.filter(status__in=sources).update(status=to, **changes)
