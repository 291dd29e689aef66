"""Batch approval: one confirmation listing what will happen, all or nothing."""

import pytest

from approvals.models import Action, Decision
from audit.models import Event
from audit.verification import verify_chain
from tests.inbox.conftest import pending_actions

pytestmark = pytest.mark.django_db


def test_the_confirmation_lists_what_each_will_do_and_approves_nothing_yet(client, supervisor, agent, refund_type):
    actions = pending_actions(agent, refund_type, 3, batch="refunds")
    client.force_login(supervisor)

    page = client.get("/batch/approve", {"ids": [a.pk for a in actions]}).content.decode()

    assert "Approve 3 actions?" in page
    assert "Refund $10.00 to customer cus_0" in page and "Refund $12.00 to customer cus_2" in page
    assert Action.objects.filter(status="pending").count() == 3


def test_confirming_approves_each_with_its_own_decision_and_event(client, supervisor, agent, refund_type):
    actions = pending_actions(agent, refund_type, 3)
    client.force_login(supervisor)

    response = client.post("/batch/approve", {"ids": [a.pk for a in actions]})

    assert response.status_code == 302
    assert Action.objects.filter(status="approved").count() == 3
    assert Decision.objects.filter(by_name="sue", verdict="approved").count() == 3
    assert Event.objects.filter(kind="action.approved").count() == 3
    assert verify_chain(full=True).problems == []
    assert Action.objects.get(pk=actions[0].pk).final_params == actions[0].params


def test_if_one_was_decided_meanwhile_nothing_is_approved(client, supervisor, second_supervisor, agent, refund_type):
    actions = pending_actions(agent, refund_type, 5)
    Action.objects.get(pk=actions[2].pk).reject(by=second_supervisor, reason="duplicate")
    client.force_login(supervisor)

    response = client.post("/batch/approve", {"ids": [a.pk for a in actions]})

    page = response.content.decode()
    assert response.status_code == 409
    assert "Nothing was approved" in page
    assert "Already rejected by sam" in page
    assert "Yes, approve the remaining 4" in page
    assert Action.objects.filter(status="approved").count() == 0

    remaining = [a.pk for a in actions if a.pk != actions[2].pk]
    client.post("/batch/approve", {"ids": remaining})
    assert Action.objects.filter(status="approved").count() == 4


def test_back_and_resubmit_after_a_batch_says_you_decided_them_yourself(client, supervisor, agent, refund_type):
    ids = [a.pk for a in pending_actions(agent, refund_type, 2)]
    client.force_login(supervisor)
    client.post("/batch/approve", {"ids": ids})

    again = client.post("/batch/approve", {"ids": ids})

    page = again.content.decode()
    assert again.status_code == 409
    assert page.count("You already decided this: approved at") == 2
    assert "someone else" not in page and "by sue" not in page
    assert Decision.objects.count() == 2


def test_a_race_inside_the_claim_rolls_everything_back(supervisor, second_supervisor, agent, refund_type):
    from approvals.models import BatchConflict

    actions = list(Action.objects.filter(pk__in=[a.pk for a in pending_actions(agent, refund_type, 3)]).by_urgency())
    Action.objects.get(pk=actions[1].pk).approve(by=second_supervisor)  # after the page loaded them

    with pytest.raises(BatchConflict) as conflict:
        Action.approve_all(actions, by=supervisor)

    assert [action.pk for action, _ in conflict.value.conflicts] == [actions[1].pk]
    assert "Already approved by sam" in conflict.value.conflicts[0][1]
    assert Action.objects.filter(status="approved").count() == 1
    assert Decision.objects.count() == 1


def test_a_batch_with_a_type_the_user_may_not_review_is_refused_whole(client, supervisor, agent, refund_type):
    from policies.models import ActionType

    other = ActionType.objects.create(key="crm.delete_contacts", name="Delete", autonomy="confirm")
    mine = pending_actions(agent, refund_type, 2)
    theirs = pending_actions(agent, other, 1)
    client.force_login(supervisor)

    response = client.post("/batch/approve", {"ids": [a.pk for a in mine + theirs]})

    assert response.status_code == 403
    assert Action.objects.filter(status="approved").count() == 0
