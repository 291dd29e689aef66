"""After approving, a reviewer allows similar proposals: the scope is chosen, shown in words,
created as a standing approval, and the next matching proposal runs at `audit`."""

import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType, StandingApproval
from tests.conftest import CONFIRMED

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

    words = "This will let through: payments.refund from billing-agent where amount ≤ 750, currency = USD"
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


def test_the_action_page_offers_allow_similar_to_its_reviewers_only(client, supervisor, auditor, approved):
    link = f'href="/actions/{approved.pk}/allow-similar"'
    client.force_login(supervisor)
    assert link in client.get(f"/actions/{approved.pk}/").content.decode()

    client.force_login(auditor)
    page = client.get(f"/actions/{approved.pk}/")
    assert page.status_code == 200
    assert link not in page.content.decode()


def test_the_action_page_shows_the_context_the_agent_sent(client, supervisor, api, refund_type):
    body = api.propose(context={"ticket": "T-9", "email_body": "<b>please</b>"}).json()
    client.force_login(supervisor)

    page = client.get(f"/actions/{body['id']}/").content.decode()

    assert "Context the agent sent" in page
    assert "T-9" in page
    assert "&lt;b&gt;please&lt;/b&gt;" in page and "<b>please</b>" not in page


def test_an_irreversible_approval_says_on_its_card_why_nothing_similar_is_allowed(client, supervisor, pending):
    client.force_login(supervisor)

    card = client.post(f"/actions/{pending.pk}/approve", CONFIRMED, headers={"HX-Request": "true"}).content.decode()

    assert "irreversible: a standing approval never applies to it" in card
    assert "allow-similar" not in card


def test_the_page_says_who_approved_a_person_you_or_the_policy(client, supervisor, second_supervisor, api, approved):
    client.force_login(supervisor)
    assert "You approved" in client.get(f"/actions/{approved.pk}/allow-similar").content.decode()

    client.force_login(second_supervisor)
    assert "sue approved" in client.get(f"/actions/{approved.pk}/allow-similar").content.decode()

    ActionType.objects.filter(pk=approved.action_type_id).update(autonomy="audit")
    by_policy = api.propose(params={"customer": "cus_9", "amount": 5, "currency": "USD"}).json()
    assert by_policy["status"] == "approved"
    page = client.get(f"/actions/{by_policy['id']}/allow-similar").content.decode()
    assert "The policy approved" in page and "You approved" not in page
    assert (
        f'href="/actions/{by_policy["id"]}/allow-similar"'
        in client.get(f"/actions/{by_policy['id']}/").content.decode()
    )


def test_it_is_offered_after_the_approved_action_ran(client, supervisor, approved):
    Action.objects.filter(pk=approved.pk).update(status="executed")
    client.force_login(supervisor)

    assert f'href="/actions/{approved.pk}/allow-similar"' in client.get(f"/actions/{approved.pk}/").content.decode()


def test_a_supervisor_sees_their_standing_approvals_and_revokes_one_on_the_preferences_page(
    client, supervisor, approved, api
):
    client.force_login(supervisor)
    client.post(f"/actions/{approved.pk}/allow-similar", {**CHOICES, "create": "1"})
    standing = StandingApproval.objects.get()

    page = client.get("/notifications/preferences").content.decode()
    assert "payments.refund</code> from billing-agent" in page and "amount ≤ 750" in page
    assert f'action="/standing-approvals/{standing.pk}/revoke"' in page

    response = client.post(f"/standing-approvals/{standing.pk}/revoke", follow=True)

    assert "Revoked: payments.refund from billing-agent" in response.content.decode()
    standing.refresh_from_db()
    assert standing.revoked_at is not None
    event = Event.objects.filter(kind="policy.changed").latest("seq")
    assert (event.actor_name, event.data["what"]) == ("sue", "standing approval revoked")
    assert api.propose(params={"customer": "cus_9", "amount": 5, "currency": "USD"}).json()["status"] == "pending"
    again = client.post(f"/standing-approvals/{standing.pk}/revoke", follow=True).content.decode()
    assert "Already revoked" in again
    assert Event.objects.filter(kind="policy.changed", data__what="standing approval revoked").count() == 1


def test_only_a_reviewer_of_its_type_revokes_a_standing_approval(client, supervisor, outsider, approved):
    standing = StandingApproval.allow_similar(action=approved, by=supervisor, constraints={})
    client.force_login(outsider)

    assert f"/standing-approvals/{standing.pk}/revoke" not in client.get("/notifications/preferences").content.decode()
    assert client.post(f"/standing-approvals/{standing.pk}/revoke").status_code == 403
    assert client.post("/standing-approvals/999999/revoke").status_code == 404
    client.force_login(supervisor)
    assert client.get(f"/standing-approvals/{standing.pk}/revoke").status_code == 405
    standing.refresh_from_db()
    assert standing.revoked_at is None


def test_the_default_scope_lets_the_same_kind_of_action_through_for_another_customer(client, supervisor, approved, api):
    """By default, what names one thing (the customer) may vary, a number may be up to this one,
    and a value from a fixed list (the currency) must match: a scope that can apply again."""
    client.force_login(supervisor)
    page = client.get(f"/actions/{approved.pk}/allow-similar").content.decode()
    assert '<option value="any" selected>may be anything</option>' in page  # the customer
    assert '<option value="max" selected>may be up to this</option>' in page  # the amount
    assert '<option value="equals" selected>must be exactly this</option>' in page  # the currency
    assert "where amount ≤ 750, currency = USD" in page
    assert "[" not in page.split("<tbody>")[1].split("</tbody>")[0]  # no Python repr in the table

    defaults = {"match_customer": "any", "match_amount": "max", "match_currency": "equals", "hours": 1, "max_uses": 10}
    assert client.post(f"/actions/{approved.pk}/allow-similar", {**defaults, "create": "1"}).status_code == 302

    other_customer = api.propose(params={"customer": "cus_42", "amount": 120, "currency": "USD"}).json()
    assert other_customer["status"] == "approved"
    assert other_customer["route"]["reasons"][0].startswith("standing approval #")
    event = Event.objects.filter(kind="policy.changed", data__what="standing approval created").get()
    assert event.actor_name == "sue"


def test_the_preview_says_how_much_of_the_agents_recent_traffic_the_scope_matches(client, supervisor, approved, api):
    for amount in (100, 200, 5000):
        api.propose(params={"customer": "cus_7", "amount": amount, "currency": "USD"})
    client.force_login(supervisor)

    page = client.get(f"/actions/{approved.pk}/allow-similar").content.decode()

    assert "Of this agent's last 3 other proposals of this type, it would have matched 2." in page


def test_untrusted_context_is_never_let_through_and_the_form_and_the_route_say_so(client, supervisor, refund_type, api):
    ActionType.objects.filter(pk=refund_type.pk).update(irreversible=False)
    untrusted = {"ticket": "T-1", "untrusted": ["ticket.body"]}
    action = Action.objects.get(pk=api.propose(context=untrusted).json()["id"])
    action.approve(by=supervisor)
    client.force_login(supervisor)

    page = client.get(f"/actions/{action.pk}/allow-similar").content.decode()
    assert "This action's context was marked untrusted (ticket.body)" in page
    client.post(f"/actions/{action.pk}/allow-similar", {**CHOICES, "create": "1"})
    standing = StandingApproval.objects.get()

    again = api.propose(params={"customer": "cus_9", "amount": 50, "currency": "USD"}, context=untrusted).json()
    clean = api.propose(params={"customer": "cus_9", "amount": 50, "currency": "USD"}).json()

    assert again["status"] == "pending"
    assert (
        f"standing approval #{standing.pk} not applied: the agent marked context as untrusted (ticket.body)"
        in again["route"]["reasons"]
    )
    assert clean["status"] == "approved"


def test_a_list_value_reads_as_json_in_the_scope(db):
    standing = StandingApproval(constraints={"tags": {"equals": ["refund", "billing"]}, "amount": {"max": 5}})

    assert standing.describe() == 'amount ≤ 5, tags = ["refund", "billing"]'
