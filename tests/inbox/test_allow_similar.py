"""After approving, a reviewer allows similar proposals: the scope is chosen, shown in words,
created as a standing approval, and the next matching proposal runs at `audit`."""

import pytest

from approvals.models import Action
from policies.models import ActionType, StandingApproval

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(api, refund_type, supervisor):
    ActionType.objects.filter(pk=refund_type.pk).update(irreversible=False)
    action = Action.objects.select_related("action_type", "agent").get(pk=api.propose().json()["id"])
    action.approve(by=supervisor)
    return action


CHOICES = {"match_customer": "any", "match_amount": "max", "match_currency": "equals", "hours": 2, "max_uses": 3}


def test_the_preview_says_in_words_what_it_lets_through(client, supervisor, approved):
    client.force_login(supervisor)

    page = client.post(f"/actions/{approved.pk}/allow-similar", {**CHOICES, "preview": "1"}).content.decode()

    words = "This will let through: payments.refund from billing-agent where amount ≤ 750, currency = &#x27;USD&#x27;"
    assert words in page
    assert not StandingApproval.objects.exists()


def test_allowing_similar_lets_the_next_matching_proposal_through(client, supervisor, approved, api):
    client.force_login(supervisor)

    response = client.post(f"/actions/{approved.pk}/allow-similar", {**CHOICES, "create": "1"})

    assert response.status_code == 302
    standing = StandingApproval.objects.get()
    assert standing.constraints == {"amount": {"max": 750}, "currency": {"equals": "USD"}}
    assert standing.max_uses == 3
    similar = api.propose(params={"customer": "cus_9", "amount": 500, "currency": "USD"}).json()
    larger = api.propose(params={"customer": "cus_9", "amount": 900, "currency": "USD"}).json()
    assert similar["status"] == "approved"
    assert larger["status"] == "pending"


def test_never_for_an_irreversible_type(client, supervisor, approved):
    ActionType.objects.filter(pk=approved.action_type_id).update(irreversible=True)
    client.force_login(supervisor)

    page = client.post(f"/actions/{approved.pk}/allow-similar", {**CHOICES, "create": "1"}).content.decode()

    assert "never applies to it" in page
    assert not StandingApproval.objects.exists()


def test_only_for_an_approved_action_and_a_reviewer(client, supervisor, outsider, api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(irreversible=False)
    pending = api.propose().json()["id"]
    client.force_login(supervisor)
    page = client.post(f"/actions/{pending}/allow-similar", {**CHOICES, "create": "1"}).content.decode()
    assert "Only an approved action can allow similar ones" in page
    client.force_login(outsider)
    assert client.get(f"/actions/{pending}/allow-similar").status_code == 403
