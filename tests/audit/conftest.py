"""Actors and helpers for the audit log's tests."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.log import Actor, append_many, record
from audit.models import Event
from tests.conftest import make_user


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


@pytest.fixture
def auditor(db):
    return make_user("audrey", "auditors")


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
