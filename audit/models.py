"""The audit log: append-only events, each chained to the one before it in its lane by its
hash; the signed chain heads that anchor the lanes, each signing the one before; the
checkpoints retention leaves; and the auditor's "Verify now" runs.

This app is a leaf: events hold ids and names, never foreign keys, so the history outlives
the users, agents and actions it describes.
"""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from audit.canonical import canonical_json, canonical_json_v1
from audit.changes import change_summary, diff_lines

GENESIS_HASH = "0" * 64
# The rule events are written with now (see audit/canonical.py); every event keeps its own.
CHAIN_VERSION = 2


class EventQuerySet(models.QuerySet):
    def for_action(self, action_id):
        """The action's timeline, oldest first."""
        return self.filter(action_id=action_id).order_by("seq")

    def matching(self, text):
        """Full-text search over summaries, parameters, reasons and names (the stored `search`
        column, filled by a trigger on insert and indexed with GIN)."""
        return self.filter(search=SearchQuery(text, config="english", search_type="websearch"))

    def with_outcome(self, outcome):
        """Events of the actions that ended this way (approved, rejected, executed, failed…)."""
        if outcome == "edited":
            # Approved after an edit: an `action.approved` saying so (or an older `action.edited`).
            decided = Event.objects.filter(
                Q(kind="action.approved", data__edited=True) | Q(kind="action.edited"), action_id__isnull=False
            ).values("action_id")
            return self.filter(action_id__in=decided)
        kinds = OUTCOME_KINDS.get(outcome, [f"action.{outcome}"])
        decided = Event.objects.filter(kind__in=kinds, action_id__isnull=False).values("action_id")
        return self.filter(action_id__in=decided)

    def page(self, *, before=None, size=50, widening=False):
        """One keyset page, newest first: an index range scan whatever the depth.

        `widening` is for full-text searches. PostgreSQL can either walk seq backwards testing
        each row (fast for common words) or collect every match from the GIN index and sort
        (fast for rare ones), and it misjudges which for words that always come together
        ("GDPR erasure"). Searching a recent window of seq first, then ever wider ones, keeps
        both kinds cheap: each step reads at most a window's worth of matches.
        """
        events = self.order_by("-seq")
        if before is not None:
            events = events.filter(seq__lt=before)
        if not widening:
            return list(events[:size])
        upper = before if before is not None else (Event.objects.aggregate(top=models.Max("seq"))["top"] or 0) + 1
        found, window = [], SEARCH_WINDOW
        while len(found) < size and upper > 0:
            lower = max(upper - window, 0)
            found += events.filter(seq__gte=lower, seq__lt=upper)[: size - len(found)]
            upper, window = lower, window * 8
        return found


# Every stored column but `search`, in table order: what COPY writes and what an export holds.
EVENT_COLUMNS = [
    "seq",
    "version",
    "lane",
    "lane_seq",
    "at",
    "kind",
    "actor_kind",
    "actor_id",
    "actor_name",
    "agent",
    "session_id",
    "on_behalf_of",
    "model",
    "prompt_version",
    "action_id",
    "action_type",
    "summary",
    "data",
    "prev_hash",
    "hash",
]
# The first window a full-text page searches (see EventQuerySet.page).
SEARCH_WINDOW = 20_000
# `action.edited` was the kind of an edited approval before #20; old logs still hold it.
OUTCOME_KINDS = {"approved": ["action.approved", "action.edited"]}


class Event(models.Model):
    # Allocated from the `audit_event_seq` sequence under the lane's lock (migration 0005), so
    # it grows along each lane; across lanes it orders events by when they were appended.
    seq = models.BigIntegerField(primary_key=True)
    version = models.PositiveSmallIntegerField(default=CHAIN_VERSION)
    # Events are chained in lanes (several chains, so that appends do not queue on one lock):
    # `prev_hash` is the hash of the event before this one in the same lane, `lane_seq` its
    # position there. Chain version 1 had one chain: lane 0, lane_seq = seq.
    lane = models.SmallIntegerField(default=0)
    lane_seq = models.BigIntegerField()
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=16)  # user, agent, system
    actor_id = models.CharField(max_length=64, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)
    agent = models.CharField(max_length=200, blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    on_behalf_of = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=200, blank=True)
    action_id = models.UUIDField(null=True, blank=True, db_index=True)
    action_type = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Filled by the `audit_event_search` trigger on insert; never written by Python.
    search = SearchVectorField(null=True, editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            # Each filter of the audit page walks one of these in seq order: keyset pages are
            # range scans however deep they go.
            models.Index(fields=["kind", "seq"], name="event_kind_seq"),
            models.Index(fields=["agent", "seq"], name="event_agent_seq"),
            models.Index(fields=["action_type", "seq"], name="event_action_type_seq"),
            models.Index(fields=["actor_name", "seq"], name="event_actor_seq"),
            models.Index(fields=["session_id", "seq"], name="event_session_seq"),
            models.Index(fields=["model", "seq"], name="event_model_seq"),
            models.Index(fields=["prompt_version", "seq"], name="event_prompt_version_seq"),
            # The search's agent filter is a case-insensitive prefix: UPPER(agent) LIKE 'BILL%'.
            # text_pattern_ops lets LIKE use the index whatever the database's collation.
            models.Index(OpClass(Upper("agent"), name="text_pattern_ops"), F("seq"), name="event_agent_prefix_seq"),
            GinIndex(fields=["search"], name="event_search"),
        ]
        constraints = [models.UniqueConstraint(fields=["lane", "lane_seq"], name="event_lane_position")]

    def __str__(self):
        return f"#{self.seq} {self.kind} by {self.actor_name or self.actor_kind}"

    @property
    def summary_text(self):
        """The line the log shows: the summary written with it; for a policy change written
        before policy changes had one, the same words made from its diff; else a reason."""
        if self.summary:
            return self.summary
        if self.kind == "policy.changed":
            return change_summary(action_type=self.action_type, agent=self.agent, data=self.data)
        return self.data.get("reason", "") if isinstance(self.data, dict) else ""

    @property
    def change_lines(self):
        """A policy change's diff, one line per change (rules one by one, by name)."""
        return diff_lines(self.data.get("diff")) if isinstance(self.data, dict) else []

    def compute_hash(self):
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def canonical(self):
        """The text the hash is taken over, by the rule of the event's chain version."""
        if self.version == 1:
            return canonical_json_v1(self.hashed_fields())
        return canonical_json(self.hashed_fields())

    def hashed_fields(self):
        fields = {
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "kind": self.kind,
            "actor": [self.actor_kind, self.actor_id, self.actor_name],
            "agent": self.agent,
            "session_id": self.session_id,
            "on_behalf_of": self.on_behalf_of,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "action_id": str(self.action_id) if self.action_id else "",
            "action_type": self.action_type,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }
        if self.version == 1:
            if self.summary:  # added later in version 1: events written before it still verify
                fields["summary"] = self.summary
            return fields
        # Version 2 names its version and the event's place in its lane, and always the summary.
        return {**fields, "v": self.version, "lane": self.lane, "lane_seq": self.lane_seq, "summary": self.summary}


def sign(*parts):
    """HMAC-SHA256 with AUDIT_SIGNING_KEY over the parts, joined unambiguously."""
    return _hmac(canonical_json_v1([str(part) for part in parts]))


def _hmac(message):
    return hmac.new(settings.AUDIT_SIGNING_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


class Checkpoint(models.Model):
    """Left behind by a retention purge: the last purged event's seq and hash, and where each
    lane stood after the purge, signed, so that the chain still verifies from the first event
    that remains in each lane."""

    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    at = models.DateTimeField()  # the last purged event's time
    purged = models.BigIntegerField()  # how many events this purge removed
    created_at = models.DateTimeField()
    signature = models.CharField(max_length=64)
    # {"<lane>": [lane_seq, hash]} of each lane's last purged event, this purge's or an earlier
    # one's. None on checkpoints of chain version 1 (one chain: lane 0 at `seq`, `hash`).
    lanes = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self):
        return f"checkpoint at #{self.seq}"

    def expected_signature(self):
        parts = ["checkpoint", self.seq, self.hash, self.at.isoformat(), self.purged, self.created_at.isoformat()]
        if self.lanes is not None:
            parts.append(canonical_json(self.lanes))
        return sign(*parts)

    def is_authentic(self):
        return hmac.compare_digest(self.signature, self.expected_signature())

    def lane_starts(self):
        """{lane: (lane_seq, hash)}: where each lane's remaining events chain on from."""
        if self.lanes is None:
            return {0: (self.seq, self.hash)}
        return {int(lane): (end[0], end[1]) for lane, end in self.lanes.items()}


class ChainHead(models.Model):
    """One verification: how far each lane verified and the hash it reached, signed, so that a
    rewrite of the whole table (every hash recomputed) no longer matches.

    Heads form a chain of their own: each names the head before it and signs that head's
    signature, so a deleted head leaves a gap and a forged one a bad signature; each is also
    written to the witnesses outside PostgreSQL (audit/witness.py) before it commits. Rows
    without a `number` are heads of chain version 1, signed alone.
    """

    seq = models.BigIntegerField()  # the newest event verified (0: empty chain)
    hash = models.CharField(max_length=64)  # its hash (version 1), or the digest of this head (2)
    verified_at = models.DateTimeField()
    ok = models.BooleanField()
    problem = models.TextField(blank=True)
    signature = models.CharField(max_length=64)
    number = models.BigIntegerField(null=True, blank=True, unique=True)
    # {"<lane>": [lane_seq, hash, seq]}: the last event of each lane that verified.
    lanes = models.JSONField(null=True, blank=True)
    prev_number = models.BigIntegerField(null=True, blank=True)
    prev_signature = models.CharField(max_length=64, blank=True, default="")
    checked = models.BigIntegerField(default=0)  # events this verification walked
    full = models.BooleanField(default=False)  # walked from the last checkpoint, not the last head
    # The promise this head makes: the next head is signed within this many seconds (the
    # cadence, AUDIT_HEAD_CADENCE_SECONDS). A later gap, or a newest head older than that (plus
    # AUDIT_HEAD_MARGIN_SECONDS), is a rollback or a stopped beat, never "intact". None on heads
    # signed before heads had a cadence: they promise nothing.
    cadence = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        get_latest_by = "pk"

    def __str__(self):
        return f"head {self.number or ''} #{self.seq} {'ok' if self.ok else 'BROKEN'} at {self.verified_at}"

    def next_due(self, margin):
        """When the head after this one was due at the latest, or None if it promised none."""
        if self.cadence is None:
            return None
        return self.verified_at + timedelta(seconds=self.cadence) + margin

    def payload(self):
        """What a head of the head chain signs, and what its witnesses hold."""
        return {
            "v": 2,
            "number": self.number,
            "prev": [self.prev_number, self.prev_signature],
            "verified_at": self.verified_at.isoformat(timespec="microseconds"),
            "ok": self.ok,
            "problem": self.problem,
            "seq": self.seq,
            "lanes": self.lanes,
            "checked": self.checked,
            "full": self.full,
            # Only where set, so that heads signed before the cadence existed still verify.
            **({"cadence": self.cadence} if self.cadence is not None else {}),
        }

    def record(self):
        """The head as its witnesses store it: the payload and its signature, canonical."""
        return canonical_json({**self.payload(), "signature": self.signature})

    @classmethod
    def from_record(cls, text):
        """A head read back from a witness (unsaved); its signature still to be checked."""
        from datetime import datetime

        from audit.canonical import exact_loads

        fields = exact_loads(text)
        return cls(
            number=fields["number"],
            prev_number=fields["prev"][0],
            prev_signature=fields["prev"][1],
            verified_at=datetime.fromisoformat(fields["verified_at"]),
            ok=fields["ok"],
            problem=fields["problem"],
            seq=fields["seq"],
            lanes=fields["lanes"],
            checked=fields["checked"],
            full=fields["full"],
            cadence=fields.get("cadence"),
            signature=fields["signature"],
        )

    def expected_signature(self):
        if self.number is None:
            return sign("head", self.seq, self.hash, self.verified_at.isoformat(), self.ok, self.problem)
        return _hmac(canonical_json(self.payload()))

    def is_authentic(self):
        return hmac.compare_digest(self.signature, self.expected_signature())

    def lane_ends(self):
        """{lane: (lane_seq, hash)} this head signed (version 1: lane 0 at `seq`)."""
        if self.number is None:
            return {0: (self.seq, self.hash)} if self.seq else {}
        return {int(lane): (end[0], end[1]) for lane, end in self.lanes.items()}


class Verification(models.Model):
    """One "Verify now" from the audit page: asked for by an auditor, claimed and run by a
    worker, which keeps `checked` up to date so that the page can show its progress. The
    outcome that counts is the signed head it ends with (`head_number`)."""

    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.BigIntegerField(default=0)  # events to walk, counted when it started
    checked = models.BigIntegerField(default=0)
    ok = models.BooleanField(null=True)
    problem = models.TextField(blank=True)
    head_number = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        get_latest_by = "pk"

    def __str__(self):
        return f"verification {self.pk} by {self.requested_by}"

    @property
    def running(self):
        return self.finished_at is None
