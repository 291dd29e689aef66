"""Writing events: appended to one of several lanes, each chained under its own lock, in the
caller's transaction (audit migration 0005, docs/reliability.md). Verifying them is
audit/verification.py's.
"""

import json
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from audit.changes import change_summary
from audit.models import CHAIN_VERSION, EVENT_COLUMNS, GENESIS_HASH, Event
from audit.redaction import redact, redact_text

# Lane n's lock is the advisory lock LANE_LOCK_BASE + n (one-bigint keys: another key space
# than the two-integer Idempotency-Key locks).
LANE_LOCK_BASE = 0x0A0D17 << 16


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str = ""
    name: str = ""
    # How the person was verified (identity/verified.py: method, issuer, subject), when known:
    # written into the event's data as "identity", so each decision names the verified person.
    identity: dict | None = field(default=None, compare=False)

    @classmethod
    def user(cls, user):
        return cls("user", str(user.pk), user.get_username(), getattr(user, "verified_identity", None))

    @classmethod
    def agent(cls, agent):
        return cls("agent", str(agent.pk), agent.name)

    @classmethod
    def system(cls, name):
        return cls("system", "", name)

    @classmethod
    def anonymous(cls, claimed_name):
        """Someone not (yet) authenticated, by the name they gave."""
        return cls("anonymous", "", claimed_name)


def record(*, kind, actor, action=None, data=None, redact_paths=(), **context):
    """Append one event, in the caller's transaction.

    `action` is anything with an `audit_context()` method giving the action id, type, agent,
    session, on-behalf-of identity, model and prompt version (and a `summary` attribute, if
    it has one); `context` overrides or supplies those fields directly.

    `data` is redacted before it is written: the JSON paths in `redact_paths` (the action
    type's, e.g. `params.card.number` or `$.proposal.params.password`; by default those of
    `action.action_type.redact_paths`, if it has them) and every value that looks like a
    secret. The caller's objects are not modified.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    event = _unchained_event(
        kind=kind, actor=actor, action=action, data=data, redact_paths=redact_paths, context=context
    )
    _append([event])
    return event


def record_many(entries):
    """Append several events with a constant number of queries, in the caller's transaction:
    what a sweep over thousands of actions or a batch decision needs. `entries` are dicts of
    `record()`'s keyword arguments, redacted the same way. Returns the events in chain order."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the transaction of the change it records")
    events = [_unchained_event(**_split_entry(entry)) for entry in entries]
    if events:
        _append(events)
    return events


def record_many_with(change, entries):
    """`record_many(entries)` sent in one statement with `change`, the (sql, params) of the
    data-modifying statement the events record (such as the INSERT of the action they describe),
    as a common table expression: the change and its events are written together or not at all.
    Outside a transaction that is one round trip and one commit, with the lane's lock held only
    for that statement; inside one, the caller's transaction as `record_many`'s. Returns the
    events in chain order."""
    events = [_unchained_event(**_split_entry(entry)) for entry in entries]
    if not events:
        raise ValueError("record_many_with() needs at least one event")
    statement, params = change
    _append(events, prefix=(f"WITH change AS ({statement}) ", list(params)))
    return events


def _append(events, prefix=("", [])):
    """Chain and insert `events` in one statement, `audit_append_v2()` (migration audit.0005):
    it takes a free lane's lock, held to the commit, reads the lane's end and inserts. Python
    sends each event's canonical JSON with a token where its seq, lane, lane position and
    previous hash go; SQL fills them in and hashes, so the hash is `compute_hash()`'s. `prefix`:
    SQL (with its params) sent before the SELECT in the same statement (`record_many_with`)."""
    tokens = {name: f"{name}-{secrets.token_hex(16)}" for name in ("seq", "lane", "lane_seq", "prev")}
    payload = []
    for event in events:
        event.version = CHAIN_VERSION
        event.seq, event.lane, event.lane_seq = tokens["seq"], tokens["lane"], tokens["lane_seq"]
        event.prev_hash = tokens["prev"]
        payload.append(
            {
                "canonical": event.canonical(),
                "seq_token": json.dumps(tokens["seq"]),
                "lane_token": json.dumps(tokens["lane"]),
                "lane_seq_token": json.dumps(tokens["lane_seq"]),
                "prev_hash_token": json.dumps(tokens["prev"]),
                "row": {
                    **{column: getattr(event, column) for column in APPENDED_COLUMNS},
                    "at": event.at.isoformat(),
                    "action_id": str(event.action_id) if event.action_id else None,
                },
            }
        )
    before, before_params = prefix
    with connection.cursor() as cursor:
        cursor.execute(
            f"{before}SELECT seq, lane, lane_seq, prev_hash, hash FROM audit_append_v2(%s, %s, %s) ORDER BY seq",
            [*before_params, Jsonb(payload), settings.AUDIT_CHAIN_LANES, LANE_LOCK_BASE],
        )
        for event, row in zip(events, cursor.fetchall(), strict=True):
            event.seq, event.lane, event.lane_seq, event.prev_hash, event.hash = row
            event._state.adding, event._state.db = False, connection.alias


# What `_append` sends of each event; `audit_append_v2()` adds the chain's columns.
APPENDED_COLUMNS = [
    column for column in EVENT_COLUMNS if column not in ("seq", "version", "lane", "lane_seq", "prev_hash", "hash")
]


def _split_entry(entry):
    entry = dict(entry)
    known = {name: entry.pop(name, None) for name in ("kind", "actor", "action", "data")}
    return {**known, "redact_paths": entry.pop("redact_paths", ()), "context": entry}


def _unchained_event(*, kind, actor, action, data, redact_paths, context):
    """The event `record()` would write, redacted, before it has its place in the chain."""
    fields = action.audit_context() if action is not None else {}
    if action is not None and not redact_paths:
        # The action type's own paths, when it declares them (policies' ActionType.redact_paths).
        redact_paths = getattr(getattr(action, "action_type", None), "redact_paths", None) or ()
    if action is not None and "summary" not in fields:
        fields["summary"] = getattr(action, "summary", "") or ""
    fields.update(context)
    data = redact(data or {}, redact_paths)
    if actor.identity:
        data = {**data, "identity": actor.identity}
    if kind == "policy.changed" and "summary" not in context:
        # What changed, in words, for the log's list and its search (not the action's summary).
        fields["summary"] = change_summary(
            action_type=fields.get("action_type", ""), agent=fields.get("agent", ""), data=data
        )
    fields["summary"] = redact_text(fields.get("summary", ""))
    return Event(
        at=timezone.now(),
        kind=kind,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        data=data,
        **fields,
    )


def append_many(events, *, batch=5000):
    """Chain and COPY many events at once (volume seeding, imports): `events` are unsaved
    Event instances in order, with `at` set, already redacted. Returns how many were written.

    They go to one lane, under its lock like `record()`'s appends, so every lane stays one
    chain however they interleave.
    """
    written = 0
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SELECT audit_take_lane(%s, %s)", [settings.AUDIT_CHAIN_LANES, LANE_LOCK_BASE])
        lane = cursor.fetchone()[0]
        cursor.execute("SELECT end_seq, end_hash FROM audit_lane_end(%s)", [lane])
        lane_seq, prev_hash = cursor.fetchone()
        chunk = []
        for event in events:
            chunk.append(event)
            if len(chunk) == batch:
                lane_seq, prev_hash = _copy_chunk(cursor, chunk, lane, lane_seq, prev_hash)
                written += len(chunk)
                chunk = []
        if chunk:
            _copy_chunk(cursor, chunk, lane, lane_seq, prev_hash)
            written += len(chunk)
    return written


def _copy_chunk(cursor, events, lane, lane_seq, prev_hash):
    # Drawn under the lane's lock, so these seqs follow every earlier one of the lane.
    cursor.execute("SELECT nextval('audit_event_seq') FROM generate_series(1, %s)", [len(events)])
    seqs = sorted(row[0] for row in cursor.fetchall())
    rows = []
    for event, seq in zip(events, seqs, strict=True):
        lane_seq += 1
        event.version, event.seq, event.lane, event.lane_seq = CHAIN_VERSION, seq, lane, lane_seq
        event.prev_hash = prev_hash
        event.hash = prev_hash = event.compute_hash()
        rows.append([_copy_value(event, column) for column in EVENT_COLUMNS])
    with cursor.copy(f"COPY audit_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return lane_seq, prev_hash


def _copy_value(event, column):
    value = getattr(event, column)
    if column == "data":
        return json.dumps(value, ensure_ascii=False)
    if column == "action_id":
        return str(value) if value else None
    return value


__all__ = ["GENESIS_HASH", "Actor", "append_many", "record", "record_many", "record_many_with"]
