"""Actors and helpers for the audit log's tests."""

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.log import Actor, append_many, record
from audit.models import Event


@pytest.fixture(autouse=True)
def witness_dir(request, settings, tmp_path):
    """Each test's chain heads go to a witness directory of its own, as its database is its own."""
    settings.AUDIT_WITNESS_DIR = str(tmp_path / "witness")
    settings.AUDIT_WITNESS_WEBHOOK_URL = ""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        # Sequences outlive rollbacks and flushes: start each test's events at #1.
        request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('audit_event_seq', 1, false)")
    return tmp_path / "witness"


def append(kind="note.written", *, data=None, actor=None, **context):
    """One event through `record()`, in its own transaction as a change would write it."""
    with transaction.atomic():
        return record(kind=kind, actor=actor or Actor.system("tests"), data=data or {}, **context)


def append_old(count, *, days_ago, kind="note.written"):
    """`count` events dated `days_ago` days back, chained after the current end."""
    at = timezone.now() - timedelta(days=days_ago)
    append_many(
        Event(at=at + timedelta(seconds=i), kind=kind, actor_kind="system", actor_name="tests", data={"i": i})
        for i in range(count)
    )


class superuser_edit:  # noqa: N801 - used as a context manager, named like one
    """What a database superuser could do: switch the append-only trigger off for a moment."""

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


class superuser:  # noqa: N801 - used as a context manager, named like one
    """An attacker with PostgreSQL superuser rights but (unless a test gives it to them) not the
    signing key nor the witness: triggers off for the session, then any SQL."""

    def __enter__(self):
        self.cursor = connection.cursor()
        self.cursor.execute("SET session_replication_role = replica")
        return self

    def sql(self, statement, params=()):
        self.cursor.execute(statement, params)

    def rechain(self, lane, *, from_lane_seq, change=None):
        """Rewrite the lane's events from `from_lane_seq` on (`change(event)` edits each),
        recomputing every hash and link after it, as one who knows the hash rule can."""
        events = list(Event.objects.filter(lane=lane).order_by("lane_seq"))
        prev_hash = None
        for event in events:
            if event.lane_seq >= from_lane_seq:
                if change is not None:
                    change(event)
                if prev_hash is not None:
                    event.prev_hash = prev_hash
                event.hash = event.compute_hash()
                self.sql(
                    "UPDATE audit_event SET actor_name = %s, data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                    [event.actor_name, json.dumps(event.data), event.prev_hash, event.hash, event.seq],
                )
            prev_hash = event.hash

    def __exit__(self, *exc):
        self.cursor.execute("SET session_replication_role = DEFAULT")
        self.cursor.close()
