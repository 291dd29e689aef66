"""Writing events: one chain, appended under a transaction-level advisory lock; and verifying
it, from the last retention checkpoint, against the chain heads signed by earlier runs."""

import json
import secrets
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from audit.models import EVENT_COLUMNS, ChainHead, Checkpoint, Event, canonical_json
from audit.redaction import redact, redact_text

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


def _append(events):
    """Chain and insert `events` in one statement, `audit_append()` (migration audit.0004), so
    that the chain's lock is held for that statement and the commit, not for a round trip per
    step. Python sends each event's canonical JSON with a token where its sequence number and
    its previous hash go; SQL fills them in and hashes, so the hash is `compute_hash()`'s."""
    seq_token, prev_hash_token = f"seq-{secrets.token_hex(16)}", f"prev-{secrets.token_hex(16)}"
    payload = []
    for event in events:
        event.seq, event.prev_hash = seq_token, prev_hash_token
        payload.append(
            {
                "canonical": canonical_json(event.hashed_fields()),
                "seq_token": json.dumps(seq_token),
                "prev_hash_token": json.dumps(prev_hash_token),
                "row": {
                    **{column: getattr(event, column) for column in APPENDED_COLUMNS},
                    "at": event.at.isoformat(),
                    "action_id": str(event.action_id) if event.action_id else None,
                },
            }
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, prev_hash, hash FROM audit_append(%s, %s) ORDER BY seq", [Jsonb(payload), CHAIN_LOCK_ID]
        )
        for event, (seq, prev_hash, hash_) in zip(events, cursor.fetchall(), strict=True):
            event.seq, event.prev_hash, event.hash = seq, prev_hash, hash_
            event._state.adding, event._state.db = False, connection.alias


# What `_append` sends of each event; `audit_append()` adds the chain's columns.
APPENDED_COLUMNS = [column for column in EVENT_COLUMNS if column not in ("seq", "prev_hash", "hash")]


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
    fields["summary"] = redact_text(fields.get("summary", ""))
    return Event(
        at=timezone.now(),
        kind=kind,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        data=redact(data or {}, redact_paths),
        **fields,
    )


def append_many(events):
    """Chain and COPY many events at once (volume seeding, imports): `events` are unsaved
    Event instances in order, with `at` set, already redacted. Returns how many were written.

    Runs under the same lock as `record()`, so the result is one chain however they interleave.
    """
    written = 0
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        lock_chain()
        seq, prev_hash = _chain_end()
        with cursor.copy(f"COPY audit_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for event in events:
                seq += 1
                event.seq, event.prev_hash = seq, prev_hash
                event.hash = prev_hash = event.compute_hash()
                copy.write_row([_copy_value(event, column) for column in EVENT_COLUMNS])
                written += 1
    return written


def _copy_value(event, column):
    value = getattr(event, column)
    if column == "data":
        return json.dumps(value, ensure_ascii=False)
    if column == "action_id":
        return str(value) if value else None
    return value


def lock_chain():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


def _chain_end():
    """(seq, hash) of the last event, or of the last checkpoint if a purge left none."""
    last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    if last is not None:
        return last
    checkpoint = Checkpoint.objects.order_by("-seq").values_list("seq", "hash").first()
    return checkpoint or (0, GENESIS_HASH)


def verify(events, *, prev_seq=None, prev_hash=None):
    """The first event whose hash, link or sequence number does not verify, or None."""
    for event in events:
        if prev_seq is not None and event.seq != prev_seq + 1:
            return event
        if prev_hash is not None and event.prev_hash != prev_hash:
            return event
        if event.compute_hash() != event.hash:
            return event
        prev_seq, prev_hash = event.seq, event.hash
    return None


@dataclass
class Verification:
    ok: bool
    seq: int  # the last event verified
    hash: str
    checked: int  # how many events this run walked
    problem: str = ""


def verify_chain(*, full=False):
    """Verify the chain and store a signed head saying how far it verified.

    Incremental by default: from the last good signed head, after checking that its event
    still carries the hash that was signed. `full` walks everything from the last checkpoint
    (or the genesis), then checks the signed heads it passes, so that a table rewritten with
    consistent new hashes is still caught.
    """
    result = _verify(full=full)
    now = timezone.now()
    head = ChainHead(
        seq=result.seq, hash=result.hash, verified_at=now, ok=result.ok, problem=result.problem, signature=""
    )
    head.signature = head.expected_signature()
    with transaction.atomic():
        head.save(force_insert=True)
    return result


def _verify(*, full):
    checkpoint = Checkpoint.objects.order_by("-seq").first()
    if checkpoint is not None and not checkpoint.is_authentic():
        return Verification(False, 0, "", 0, f"checkpoint at #{checkpoint.seq} has a bad signature")
    start_seq, start_hash = (checkpoint.seq, checkpoint.hash) if checkpoint else (0, GENESIS_HASH)
    purged_through = start_seq

    heads = [h for h in ChainHead.objects.filter(ok=True).order_by("-pk")[:1]]
    last_head = heads[0] if heads else None
    if last_head is not None and not last_head.is_authentic():
        return Verification(False, 0, "", 0, f"the chain head signed at {last_head.verified_at} has a bad signature")

    if not full and last_head is not None and last_head.seq >= start_seq:
        problem = _head_mismatch(last_head, purged_through)
        if problem:
            return Verification(False, 0, "", 0, problem)
        start_seq, start_hash = last_head.seq, last_head.hash

    events = Event.objects.filter(seq__gt=start_seq).defer("search").order_by("seq").iterator(chunk_size=5000)
    walked = _Counting(events)
    broken = verify(walked, prev_seq=start_seq, prev_hash=start_hash)
    if broken is not None:
        return Verification(
            False,
            walked.last_good_seq or start_seq,
            walked.last_good_hash or start_hash,
            walked.count,
            f"event #{broken.seq} ({broken.kind} at {broken.at.isoformat()}) does not verify",
        )
    end_seq, end_hash = (walked.last_seq, walked.last_hash) if walked.count else (start_seq, start_hash)
    if full and last_head is not None:
        problem = _head_mismatch(last_head, purged_through)
        if problem:
            return Verification(False, end_seq, end_hash, walked.count, problem)
    return Verification(True, end_seq, end_hash, walked.count)


def _head_mismatch(head, purged_through):
    """Why the event a signed head names no longer matches it, or ''."""
    if head.seq == 0 or head.seq <= purged_through:
        return ""
    current = Event.objects.filter(seq=head.seq).values_list("hash", flat=True).first()
    if current is None:
        return f"event #{head.seq}, verified at {head.verified_at}, is missing"
    if current != head.hash:
        return f"event #{head.seq} no longer has the hash signed at {head.verified_at}: the chain was rewritten"
    return ""


class _Counting:
    """Iterates events, remembering the last one and the last one before it."""

    def __init__(self, events):
        self.events = events
        self.count = 0
        self.last_seq = self.last_hash = None
        self.last_good_seq = self.last_good_hash = None

    def __iter__(self):
        for event in self.events:
            self.last_good_seq, self.last_good_hash = self.last_seq, self.last_hash
            self.count += 1
            self.last_seq, self.last_hash = event.seq, event.hash
            yield event
