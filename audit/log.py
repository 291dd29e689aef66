"""Writing events: one chain, appended under a transaction-level advisory lock."""

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from psycopg.types.json import Jsonb

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


def record_many(entries):
    """Append several events at once, in the caller's transaction, with a constant number of
    queries: what a sweep over thousands of actions needs. `entries` are dicts with the
    keyword arguments of `record()`. Returns the events in chain order."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the transaction of the change it records")
    if not entries:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    now = timezone.now()
    events = []
    for entry in entries:
        entry = dict(entry)
        action, actor = entry.pop("action", None), entry.pop("actor")
        fields = action.audit_context() if action is not None else {}
        fields.update({k: v for k, v in entry.items() if k not in ("kind", "data")})
        event = Event(
            seq=seq,
            at=now,
            kind=entry["kind"],
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_name=actor.name,
            data=entry.get("data") or {},
            prev_hash=prev_hash,
            **fields,
        )
        event.hash = event.compute_hash()
        events.append(event)
        seq, prev_hash = seq + 1, event.hash
    _copy(events)
    return events


def _copy(events):
    # COPY rather than a bulk INSERT: binding ten thousand rows' parameters costs seconds.
    fields = Event._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor, cursor.copy(f"COPY {Event._meta.db_table} ({columns}) FROM STDIN") as copy:
        for event in events:
            copy.write_row(
                [
                    Jsonb(event.data) if field.attname == "data" else getattr(event, field.attname)
                    for field in fields
                ]
            )


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
