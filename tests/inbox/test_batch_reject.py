"""Batch rejection: the same confirmation as a batch approval, one reason for all, all or nothing."""

import pytest

from approvals.models import Action, Decision
from audit.models import Event
from audit.verification import verify_chain
from policies.models import ActionType
from tests.inbox.conftest import pending_actions

pytestmark = pytest.mark.django_db


def test_the_confirmation_asks_for_one_reason_and_rejects_nothing_yet(client, supervisor, agent, refund_type):
    actions = pending_actions(agent, refund_type, 3)
    client.force_login(supervisor)

    page = client.get("/batch/reject", {"ids": [a.pk for a in actions]}).content.decode()

    assert "Reject 3 actions?" in page
    assert 'name="common"' in page and 'name="reason"' in page
    assert "Yes, reject 3" in page
    assert Action.objects.filter(status="pending").count() == 3


def test_without_a_reason_nothing_is_rejected(client, supervisor, agent, refund_type):
    actions = pending_actions(agent, refund_type, 3)
    client.force_login(supervisor)

    response = client.post("/batch/reject", {"ids": [a.pk for a in actions], "reason": "  "})

    assert response.status_code == 400
    assert "Say why you reject it" in response.content.decode()
    assert Action.objects.filter(status="pending").count() == 3
    assert not Event.objects.filter(kind="action.rejected").exists()


def test_confirming_rejects_each_with_the_reason_its_decision_and_event(client, supervisor, agent, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(required_approvers=2)  # four eyes guards approval only
    actions = pending_actions(agent, refund_type, 3)
    client.force_login(supervisor)

    response = client.post(
        "/batch/reject", {"ids": [a.pk for a in actions], "common": "Duplicate of another action", "reason": "loop"}
    )

    assert response.status_code == 302
    assert Action.objects.filter(status="rejected").count() == 3
    reasons = set(Decision.objects.filter(verdict="rejected", by_name="sue").values_list("reason", flat=True))
    assert reasons == {"Duplicate of another action: loop"}
    events = Event.objects.filter(kind="action.rejected")
    assert [e.data["batch"] for e in events] == [3, 3, 3]
    assert verify_chain(full=True).problems == []
    assert Action.objects.get(pk=actions[0].pk).final_params is None


def test_if_one_was_decided_meanwhile_nothing_is_rejected(client, supervisor, second_supervisor, agent, refund_type):
    actions = pending_actions(agent, refund_type, 4)
    Action.objects.get(pk=actions[1].pk).approve(by=second_supervisor)
    client.force_login(supervisor)

    response = client.post("/batch/reject", {"ids": [a.pk for a in actions], "reason": "wrong customer"})

    assert response.status_code == 409
    assert "Nothing was rejected" in response.content.decode()
    assert "Yes, reject the remaining 3" in response.content.decode()
    assert Action.objects.filter(status="rejected").count() == 0


def test_the_inbox_offers_reject_selected_beside_approve_selected(client, supervisor, agent, refund_type):
    pending_actions(agent, refund_type, 2)
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert 'id="batch-reject" formaction="/batch/reject"' in page
