"""Writing events: one chain, appended under a transaction-level advisory lock."""

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from audit.models import Event

GENESIS_HASH = "0" * 64
# Any constant works; it names the lock that serializes appends to the chain.
CHAIN_LOCK_ID = 0x0A0D17


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str = ""
    name: str = ""

    @classmethod
    def user(cls, user):
        return cls("user", str(user.pk), user.get_username())

    @classmethod
    def agent(cls, agent):
        return cls("agent", str(agent.pk), agent.name)

    @classmethod
    def system(cls, name):
        return cls("system", "", name)


def record(*, kind, actor, action=None, data=None, **context):
    """Append one event, in the caller's transaction.

    `action` is anything with an `audit_context()` method giving the action id, type, agent,
    session, on-behalf-of identity, model and prompt version; `context` overrides or supplies
    those fields directly.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    fields = action.audit_context() if action is not None else {}
    fields.update(context)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    event = Event(
        seq=seq,
        at=timezone.now(),
        kind=kind,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        data=data or {},
        prev_hash=prev_hash,
        **fields,
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    return event


def verify(events):
    """The first event whose hash or link does not verify, or None."""
    prev_hash = None
    for event in events:
        if prev_hash is not None and event.prev_hash != prev_hash:
            return event
        if event.compute_hash() != event.hash:
            return event
        prev_hash = event.hash
    return None


def record_many(*, kind, actor, actions, data):
    """Append one event per action with a constant number of queries (a batch decision).

    Same chain and lock as `record()`; `data(action)` gives each event's data.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the transaction of the change it records")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    events = []
    for action in actions:
        event = Event(
            seq=seq,
            at=timezone.now(),
            kind=kind,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_name=actor.name,
            data=data(action),
            prev_hash=prev_hash,
            **action.audit_context(),
        )
        event.hash = event.compute_hash()
        events.append(event)
        seq, prev_hash = seq + 1, event.hash
    return Event.objects.bulk_create(events)
