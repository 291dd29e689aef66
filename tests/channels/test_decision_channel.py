"""Every decision's audit event names the channel it was taken in."""

import pytest
from django.urls import reverse

from approvals.models import Action
from audit.models import Event
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db


def test_a_decision_in_the_inbox_is_recorded_as_taken_on_the_web(client, pending, supervisor):
    client.force_login(supervisor)

    client.post(reverse("approvals:approve", args=[pending.pk]), CONFIRMED)

    assert Event.objects.get(kind="action.approved").data["channel"] == "web"


def test_a_batch_rejection_names_its_channel_on_every_event(api, supervisor):
    actions = [Action.objects.get(pk=api.propose(batch="b").json()["id"]) for _ in range(2)]

    Action.reject_all(actions, by=supervisor, reason="Duplicate", channel="slack")

    assert [event.data["channel"] for event in Event.objects.filter(kind="action.rejected")] == ["slack", "slack"]


def test_a_decision_from_an_unknown_channel_is_refused_and_changes_nothing(pending, supervisor):
    with pytest.raises(ValueError, match="Unknown decision channel 'fax'"):
        pending.approve(by=supervisor, channel="fax")

    pending.refresh_from_db()
    assert pending.status == "pending" and not Event.objects.filter(kind="action.approved").exists()
