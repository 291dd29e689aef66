"""The audit log: append-only events, each chained to the one before by its hash.

This app is a leaf: events hold ids and names, never foreign keys, so the history outlives
the users, agents and actions it describes.
"""

import hashlib
import hmac
import json
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import models


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
OUTCOME_KINDS = {"approved": ["action.approved", "action.edited"]}


class Event(models.Model):
    seq = models.BigIntegerField(primary_key=True)
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
            GinIndex(fields=["search"], name="event_search"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.kind} by {self.actor_name or self.actor_kind}"

    def compute_hash(self):
        return hashlib.sha256(canonical_json(self.hashed_fields()).encode()).hexdigest()

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
        if self.summary:  # added later: events written before it still verify
            fields["summary"] = self.summary
        return fields


def sign(*parts):
    """HMAC-SHA256 with AUDIT_SIGNING_KEY over the parts, joined unambiguously."""
    message = canonical_json([str(part) for part in parts]).encode()
    return hmac.new(settings.AUDIT_SIGNING_KEY.encode(), message, hashlib.sha256).hexdigest()


class Checkpoint(models.Model):
    """Left behind by a retention purge: the last purged event's seq and hash, signed, so that
    the chain still verifies from the first event that remains."""

    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    at = models.DateTimeField()  # the last purged event's time
    purged = models.BigIntegerField()  # how many events this purge removed
    created_at = models.DateTimeField()
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self):
        return f"checkpoint at #{self.seq}"

    def expected_signature(self):
        return sign("checkpoint", self.seq, self.hash, self.at.isoformat(), self.purged, self.created_at.isoformat())

    def is_authentic(self):
        return hmac.compare_digest(self.signature, self.expected_signature())


class ChainHead(models.Model):
    """One periodic verification: how far the chain verified and the head it reached, signed,
    so that a rewrite of the whole table (every hash recomputed) no longer matches."""

    seq = models.BigIntegerField()  # the last verified event (0: empty chain)
    hash = models.CharField(max_length=64)
    verified_at = models.DateTimeField()
    ok = models.BooleanField()
    problem = models.TextField(blank=True)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["pk"]
        get_latest_by = "pk"

    def __str__(self):
        return f"head #{self.seq} {'ok' if self.ok else 'BROKEN'} at {self.verified_at}"

    def expected_signature(self):
        return sign("head", self.seq, self.hash, self.verified_at.isoformat(), self.ok, self.problem)

    def is_authentic(self):
        return hmac.compare_digest(self.signature, self.expected_signature())


def canonical_json(value):
    """Sorted keys, UTF-8, and numbers written one way whatever their Python type, so that a
    value read back from jsonb (where 1e20 may come back as an int) hashes the same."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return {"$num": format(Decimal(str(value)).normalize(), "f")}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return str(value)
