"""Every event is chained to the one before; altering one breaks the chain at that event."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.log import GENESIS_HASH
from audit.models import Event, canonical_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_events(api, refund_type, supervisor):
    from approvals.models import Action

    action_id = api.propose().json()["id"]
    Action.objects.get(pk=action_id).approve(by=supervisor)
    return list(Event.objects.order_by("seq"))


def test_events_form_one_chain_from_the_genesis(three_events):
    assert [e.seq for e in three_events] == [1, 2, 3]
    assert three_events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(three_events, three_events[1:]))
    call_command("audit_verify")


def test_an_altered_event_is_named_by_audit_verify(three_events):
    middle = three_events[1]
    Event.objects.filter(seq=middle.seq).update(data={"level": "autonomous"})

    with pytest.raises(CommandError, match=f"#{middle.seq} "):
        call_command("audit_verify")


def test_numbers_hash_the_same_however_jsonb_returns_them():
    assert canonical_json({"a": 1e20, "b": 1.0}) == canonical_json({"b": 1, "a": 100000000000000000000})
    assert canonical_json({"a": 0.1}) != canonical_json({"a": 0.10000001})
