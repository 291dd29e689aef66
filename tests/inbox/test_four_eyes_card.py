"""Where an action type needs two approvers, the card counts approvals, names who approved, and
tells a reviewer who may not approve why."""

import pytest

from approvals.models import Action
from policies.models import ActionType
from tests.conftest import CONFIRMED, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def four_eyes_action(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(required_approvers=2)
    return Action.objects.get(pk=api.propose(on_behalf_of="olga@example.com").json()["id"])


def test_the_card_counts_approvals_and_names_the_approvers(client, supervisor, second_supervisor, four_eyes_action):
    client.force_login(second_supervisor)
    assert "0 of 2 approvals" in client.get("/").content.decode()

    response = client.post(f"/actions/{four_eyes_action.pk}/approve", CONFIRMED, headers={"HX-Request": "true"})

    assert "Your approval is recorded: 1 of 2." in response.content.decode()
    client.force_login(supervisor)
    assert "1 of 2 approvals: sam" in client.get("/").content.decode()
    assert Action.objects.get(pk=four_eyes_action.pk).status == "pending"


def test_the_person_the_agent_acts_for_is_told_why_they_may_not_approve(client, supervisor, four_eyes_action):
    olga = make_user("olga", "supervisors")
    olga.email = "olga@example.com"
    olga.save()
    client.force_login(olga)

    page = client.get("/").content.decode()
    response = client.post(f"/actions/{four_eyes_action.pk}/approve", headers={"HX-Request": "true"})

    assert "You cannot approve an action taken on your own behalf." in page
    assert "You cannot approve an action taken on your own behalf." in response.content.decode()
    assert Action.objects.get(pk=four_eyes_action.pk).approvals.count() == 0
