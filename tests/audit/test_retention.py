"""Retention purges whole old ranges behind a signed checkpoint; the chain still verifies."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.models import Checkpoint, Event
from audit.retention import purge
from tests.audit.conftest import append, append_old

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    append_old(5, days_ago=500)
    append_old(3, days_ago=200)
    append("recent")
    append("more recent")


def test_purge_removes_the_old_range_and_the_rest_still_verifies(history):
    call_command("audit_verify")

    checkpoint = purge(older_than=timedelta(days=365))

    assert (checkpoint.seq, checkpoint.purged) == (5, 5)
    assert checkpoint.is_authentic()
    assert list(Event.objects.values_list("seq", flat=True)) == [6, 7, 8, 9, 10]
    call_command("audit_verify")
    assert purge(older_than=timedelta(days=365)) is None


def test_events_appended_after_a_purge_of_everything_chain_on_from_the_checkpoint():
    append_old(4, days_ago=500)
    checkpoint = purge(older_than=timedelta(days=365))
    assert Event.objects.count() == 0

    event = append("after the purge")

    assert (event.seq, event.prev_hash) == (5, checkpoint.hash)
    call_command("audit_verify")


def test_a_retention_under_six_months_is_refused(history):
    with pytest.raises(ImproperlyConfigured, match="at least 180 days"):
        purge(older_than=timedelta(days=30))
    assert Event.objects.count() == 10


def test_the_database_refuses_to_delete_young_events_even_behind_a_checkpoint(history):
    purge(older_than=timedelta(days=365))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_checkpoint (seq, hash, at, purged, created_at, signature) "
            "VALUES (100, 'x', now(), 0, now(), 'x')"
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(kind="recent").delete()


def test_a_forged_checkpoint_fails_verification(history):
    purge(older_than=timedelta(days=365))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_checkpoint (seq, hash, at, purged, created_at, signature) "
            "VALUES (7, 'x', now(), 2, now(), 'forged')"
        )
    with pytest.raises(CommandError, match="checkpoint at #7 has a bad signature"):
        call_command("audit_verify")
    assert Checkpoint.objects.count() == 2


def test_heads_signed_before_a_purge_still_verify_after_it(history):
    from audit.verification import verify_chain

    assert verify_chain().ok  # signs the head at #10
    purge(older_than=timedelta(days=365))
    assert verify_chain().ok and verify_chain(full=True).ok

    purge(older_than=timedelta(days=190))  # now past the head's neighbours too
    append("after both purges")
    assert verify_chain().ok and verify_chain(full=True).ok
