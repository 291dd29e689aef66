"""The inbox and the decisions taken from it, through URLs as a browser would call them."""

import pytest

from approvals.models import Action
from policies.models import ActionType
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db



def test_the_inbox_needs_a_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_supervisor_sees_the_pending_action_in_plain_language(client, supervisor, pending):
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "Refund $750.00 to customer cus_123" in page
    assert "The agent says:" in page
    assert "Customer reports a double charge" in page


def test_an_outsider_sees_nothing_and_may_not_decide(client, outsider, pending):
    client.force_login(outsider)

    page = client.get("/").content.decode()
    approve = client.post(f"/actions/{pending.pk}/approve")
    detail = client.get(f"/actions/{pending.pk}/")

    assert "cus_123" not in page
    assert approve.status_code == 403
    assert detail.status_code == 403
    assert Action.objects.get(pk=pending.pk).status == "pending"


def test_a_supervisor_without_permission_on_the_type_does_not_see_it(client, supervisor, api):
    ActionType.objects.create(key="crm.delete_contacts", name="Delete", autonomy="confirm")
    hidden = api.propose(action="crm.delete_contacts", params={"contact_ids": ["c_1"]}).json()["id"]
    client.force_login(supervisor)

    assert hidden not in client.get("/").content.decode()
    assert client.post(f"/actions/{hidden}/approve").status_code == 403


def test_approving_with_htmx_returns_the_decided_card(client, supervisor, pending):
    client.force_login(supervisor)

    response = client.post(f"/actions/{pending.pk}/approve", CONFIRMED, headers={"HX-Request": "true"})

    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith(f'<article class="card status-approved" id="action-{pending.pk}"')
    assert "Approved by sue" in fragment
    assert Action.objects.get(pk=pending.pk).status == "approved"


def test_a_plain_form_post_redirects_back_to_the_inbox(client, supervisor, pending):
    client.force_login(supervisor)

    response = client.post(f"/actions/{pending.pk}/approve", CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_rejecting_needs_a_reason(client, supervisor, pending):
    client.force_login(supervisor)

    without = client.post(f"/actions/{pending.pk}/reject", {"reason": " "}, headers={"HX-Request": "true"})
    assert "Say why you reject it" in without.content.decode()
    assert Action.objects.get(pk=pending.pk).status == "pending"

    client.post(f"/actions/{pending.pk}/reject", {"reason": "Wrong customer"}, headers={"HX-Request": "true"})
    action = Action.objects.get(pk=pending.pk)
    assert action.status == "rejected"
    assert action.decision.reason == "Wrong customer"


def test_deciding_twice_shows_who_decided_first(client, supervisor, second_supervisor, pending):
    pending.approve(by=second_supervisor)
    client.force_login(supervisor)

    response = client.post(f"/actions/{pending.pk}/reject", {"reason": "no"}, headers={"HX-Request": "true"})

    assert "Already approved by sam" in response.content.decode()
    assert Action.objects.get(pk=pending.pk).status == "approved"


def test_decisions_are_post_only_and_unknown_actions_are_404(client, supervisor, pending):
    client.force_login(supervisor)

    assert client.get(f"/actions/{pending.pk}/approve").status_code == 405
    assert client.get(f"/actions/{pending.pk}/reject").status_code == 405
    assert client.post("/actions/00000000-0000-0000-0000-000000000000/approve").status_code == 404


def test_the_action_page_shows_the_parameters_and_decision(client, supervisor, pending):
    pending.approve(by=supervisor)
    client.force_login(supervisor)

    page = client.get(f"/actions/{pending.pk}/").content.decode()

    assert "Approved by sue" in page
    assert "cus_123" in page


def test_agent_supplied_text_is_escaped(client, supervisor, api, refund_type):
    api.propose(rationale="<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))")
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_pages_carry_a_strict_content_security_policy(client, supervisor):
    client.force_login(supervisor)

    policy = client.get("/")["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
