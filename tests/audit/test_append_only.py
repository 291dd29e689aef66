"""Nobody changes history: the database refuses every UPDATE, DELETE and TRUNCATE of events,
through the ORM and through raw SQL alike, on the application's own (superuser) connection."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import ChainHead, Checkpoint, Event
from audit.verification import verify_chain
from tests.audit.conftest import append

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    append("first")
    event = append("second", data={"amount": 750})
    append("third")
    return event


def refused(statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        statement()


def raw(sql, params=()):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run


def test_saving_a_changed_event_is_refused(event):
    event.data = {"amount": 1}
    refused(event.save)
    assert Event.objects.get(seq=event.seq).data == {"amount": 750}


def test_queryset_update_is_refused(event):
    refused(lambda: Event.objects.filter(seq=event.seq).update(kind="nothing.happened"))
    refused(lambda: Event.objects.update(actor_name="someone else"))
    assert Event.objects.get(seq=event.seq).kind == "second"


def test_deleting_an_event_is_refused(event):
    refused(event.delete)
    refused(lambda: Event.objects.all().delete())
    assert Event.objects.count() == 3


def test_raw_update_and_delete_are_refused(event):
    refused(raw("UPDATE audit_event SET data = '{}' WHERE seq = %s", [event.seq]))
    refused(raw("DELETE FROM audit_event WHERE seq = %s", [event.seq]))
    refused(raw("DELETE FROM audit_event"))
    assert Event.objects.count() == 3


def test_truncate_is_refused_unless_the_database_owner_allowed_it(event):
    # The test database allows it (tests/conftest.py), so take that back for this test.
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    raw(f"ALTER DATABASE {name} RESET countersign.audit_truncate")()

    refused(raw("TRUNCATE audit_event"))
    refused(raw("TRUNCATE audit_event, audit_checkpoint, audit_chainhead"))
    # A session cannot switch the exception on for itself: only the catalog counts.
    raw("SET countersign.audit_truncate = 'allowed'")()
    refused(raw("TRUNCATE audit_event"))
    assert Event.objects.count() == 3


def test_checkpoints_and_chain_heads_cannot_be_changed_either(event):
    verify_chain()
    refused(lambda: ChainHead.objects.update(ok=False))
    refused(lambda: ChainHead.objects.all().delete())
    raw(
        "INSERT INTO audit_checkpoint (seq, hash, at, purged, created_at, signature) "
        "VALUES (1, 'x', now(), 1, now(), 'x')"
    )()
    refused(raw("UPDATE audit_checkpoint SET hash = 'y'"))
    refused(lambda: Checkpoint.objects.all().delete())
    assert (ChainHead.objects.count(), Checkpoint.objects.count()) == (1, 1)


def test_the_search_column_is_filled_on_insert(event):
    assert Event.objects.matching("second").get() == event
