"""A reviewer sends a card to the next escalation tier now, from the inbox."""

import pytest

from approvals.models import Action, Notification
from audit.models import Event
from tests.workers.test_escalation import propose

pytestmark = pytest.mark.django_db


def test_escalate_now_moves_the_card_to_the_next_tier_and_notifies_it(client, supervisor, api, two_tiers):
    action = propose(api)
    client.force_login(supervisor)

    response = client.post(f"/actions/{action.pk}/escalate", headers={"HX-Request": "true"})

    action.refresh_from_db()
    assert action.status == "pending" and action.escalation_tier == 1
    assert "Escalated to tier 1 (managers)" in response.content.decode()
    event = Event.objects.get(kind="action.escalated", action_id=action.pk)
    assert (event.actor_kind, event.actor_name) == ("user", "sue")
    assert Notification.objects.filter(action=action, kind="escalated").count() == 2  # oncall@ and mia@


def test_escalating_past_the_last_tier_is_refused_and_changes_nothing(client, supervisor, api, two_tiers):
    action = propose(api)
    client.force_login(supervisor)
    client.post(f"/actions/{action.pk}/escalate")
    client.post(f"/actions/{action.pk}/escalate")

    response = client.post(f"/actions/{action.pk}/escalate", headers={"HX-Request": "true"})

    action.refresh_from_db()
    assert action.status == "pending" and action.escalation_tier == 2
    assert "no further tier" in response.content.decode()


def test_escalate_now_needs_the_object_permission_and_a_post(client, outsider, supervisor, api, two_tiers):
    action = propose(api)
    client.force_login(outsider)
    assert client.post(f"/actions/{action.pk}/escalate").status_code == 403
    client.force_login(supervisor)
    assert client.get(f"/actions/{action.pk}/escalate").status_code == 405
    assert Action.objects.get(pk=action.pk).escalation_tier == 0


def test_the_card_offers_escalate_now_only_while_a_tier_is_left(client, supervisor, api, two_tiers):
    action = propose(api)
    client.force_login(supervisor)
    assert "Escalate now" in client.get("/").content.decode()

    client.post(f"/actions/{action.pk}/escalate")
    client.post(f"/actions/{action.pk}/escalate")

    assert "Escalate now" not in client.get("/").content.decode()
