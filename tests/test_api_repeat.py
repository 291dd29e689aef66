"""POST /api/v1/actions/{id}/repeat: after an approval with changes, a framework that can only run
its model's arguments lets the model call again with the reviewer's, and that one call is approved
without a second review."""

import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import Agent, StandingApproval

pytestmark = pytest.mark.django_db

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EDITED = {**REFUND, "amount": 500}


@pytest.fixture
def edited(api, reversible, supervisor):
    """A refund the supervisor approved for 500 instead of 750."""
    action = Action.objects.get(pk=api.propose(params=REFUND).json()["id"])
    action.approve(by=supervisor, params=EDITED)
    return action


def test_the_repeated_call_with_the_reviewers_arguments_is_approved_once(api, edited):
    response = api.post(f"/actions/{edited.pk}/repeat")

    assert response.status_code == 200 and response.json()["final_params"] == EDITED
    repeated = api.propose(params=EDITED).json()
    assert repeated["status"] == "approved" and repeated["decision"] is None
    assert api.propose(params=EDITED).json()["status"] == "pending"  # used up


def test_other_arguments_are_reviewed_as_usual(api, edited):
    api.post(f"/actions/{edited.pk}/repeat")

    assert api.propose(params={**EDITED, "amount": 501}).json()["status"] == "pending"
    assert api.propose(params=REFUND).json()["status"] == "pending"


def test_it_is_a_one_shot_standing_approval_in_the_reviewers_name_and_audited(api, edited, supervisor):
    api.post(f"/actions/{edited.pk}/repeat")
    api.post(f"/actions/{edited.pk}/repeat")  # asking again changes nothing

    standing = StandingApproval.objects.get()
    assert (standing.max_uses, standing.created_by, standing.created_from_action) == (1, supervisor, edited.pk)
    made = Event.objects.get(kind="policy.changed", data__what="standing approval created")
    assert made.actor_id == str(supervisor.pk) and made.action_id == edited.pk
    assert made.data["constraints"] == {name: {"equals": value} for name, value in EDITED.items()}


def test_a_call_approved_as_proposed_or_not_approved_cannot_be_repeated(api, reversible, supervisor):
    as_proposed = Action.objects.get(pk=api.propose().json()["id"])
    as_proposed.approve(by=supervisor)
    pending = api.propose(params={**REFUND, "amount": 20}).json()["id"]

    for action_id in (as_proposed.pk, pending):
        response = api.post(f"/actions/{action_id}/repeat")
        assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    assert not StandingApproval.objects.exists()


def test_an_irreversible_type_is_reviewed_every_time(api, refund_type, supervisor):
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor, params=EDITED)

    response = api.post(f"/actions/{action.pk}/repeat")

    assert response.status_code == 409 and "irreversible" in response.json()["error"]["message"]
    assert not StandingApproval.objects.exists()


def test_another_agents_action_is_not_found(api, client, edited):
    other = Agent.objects.create(name="other").issue_token()

    response = client.post(f"/api/v1/actions/{edited.pk}/repeat", headers={"Authorization": f"Bearer {other}"})

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert not StandingApproval.objects.exists()


def test_only_post(api, edited):
    assert api.get(f"/actions/{edited.pk}/repeat").status_code == 405
