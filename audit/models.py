"""The audit log: append-only events, each chained to the one before by its hash.

This app is a leaf: events hold ids and names, never foreign keys, so the history outlives
the users, agents and actions it describes.
"""

import hashlib
import json
from decimal import Decimal

from django.db import models


class Event(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=64, db_index=True)
    actor_kind = models.CharField(max_length=16)  # user, agent, system
    actor_id = models.CharField(max_length=64, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)
    agent = models.CharField(max_length=200, blank=True, db_index=True)
    session_id = models.CharField(max_length=200, blank=True)
    on_behalf_of = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=200, blank=True)
    action_id = models.UUIDField(null=True, blank=True, db_index=True)
    action_type = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self):
        return f"#{self.seq} {self.kind} by {self.actor_name or self.actor_kind}"

    def compute_hash(self):
        return hashlib.sha256(canonical_json(self.hashed_fields()).encode()).hexdigest()

    def hashed_fields(self):
        return {
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
