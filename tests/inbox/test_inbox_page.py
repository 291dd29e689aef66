"""What a supervisor reads on the inbox: plain language, risk, reasons, groups, urgency."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Action, Appeal
from policies.models import ActionType
from tests.inbox.conftest import pending_actions

pytestmark = pytest.mark.django_db


def cards_in_order(page):
    return re.findall(r'id="action-([0-9a-f-]{36})"', page)


def test_a_card_reads_in_plain_language_with_risk_and_reasons(client, supervisor, api):
    api.propose(
        confidence=0.3,
        rationale="Customer reports a double charge",
        session_id="run-42",
        context={"ticket": "T-981", "untrusted": ["ticket.body"]},
    )
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "Refund $750.00 to customer cus_123" in page
    assert "Irreversible" in page
    assert "Low confidence (0.3)" in page
    assert "Untrusted context" in page and "ticket.body" in page
    assert "policy for &#x27;payments.refund&#x27;: Confirm before act" in page
    assert "The agent says:" in page
    assert "billing-agent · session run-42" in page
    assert 'class="countdown"' in page
    assert "Raw JSON" in page and "&quot;currency&quot;: &quot;USD&quot;" in page


def test_a_checker_that_disagrees_is_named_with_its_reason(client, supervisor, pending):
    Action.objects.filter(pk=pending.pk).update(
        route={"reasons": ["checker 'fraud' failed"], "checkers": [
            {"name": "schema", "verdict": "pass"}, {"name": "fraud", "verdict": "fail", "reason": "new card"}]}
    )
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "Checkers disagree" in page
    assert "Checker “fraud” says fail: new card" in page


def test_the_raw_json_shows_routing_as_it_is_stored_whatever_the_api_leaves_out(client, supervisor, pending):
    Action.objects.filter(pk=pending.pk).update(route={"disagreement": "fraud", "standing_approval": 7})
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "&quot;disagreement&quot;: &quot;fraud&quot;" in page and "&quot;standing_approval&quot;: 7" in page


def test_a_type_without_a_template_is_summarized_from_its_schema(client, supervisor, api, refund_type):
    refund_type.summary_template = ""
    refund_type.params_schema["properties"]["amount"]["title"] = "Amount refunded"
    refund_type.save()
    api.propose()
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "Refund a payment — " in page
    assert "Amount refunded: $750.00" in page


def test_cards_are_grouped_by_batch_and_ordered_by_urgency(client, supervisor, agent, refund_type):
    later = pending_actions(agent, refund_type, 2, batch="refunds-monday", minutes=60)
    sooner = pending_actions(agent, refund_type, 1, session_id="run-7", minutes=5)
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert cards_in_order(page) == [str(sooner[0].pk), str(later[0].pk), str(later[1].pk)]
    assert "Batch “refunds-monday” from billing-agent" in page
    assert "Approve these 2…" in page


def test_decided_actions_and_other_types_are_not_in_the_inbox(client, supervisor, second_supervisor, api, pending):
    pending.approve(by=second_supervisor)
    ActionType.objects.create(key="crm.delete_contacts", name="Delete", autonomy="confirm")
    api.propose(action="crm.delete_contacts", params={"contact_ids": ["c_1"]})
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert cards_in_order(page) == []
    assert "Nothing waits for a decision" in page


def test_the_tab_title_counts_what_waits(client, supervisor, agent, refund_type):
    pending_actions(agent, refund_type, 3)
    client.force_login(supervisor)

    assert "<title>Inbox (3) · Countersign</title>" in client.get("/").content.decode()


def test_the_poll_answers_no_content_until_something_arrives(client, supervisor, api, pending):
    client.force_login(supervisor)
    version = re.search(r"version=([^&\"]+)", client.get("/").content.decode()).group(1)

    unchanged = client.get(f"/inbox/changes?version={version}", headers={"HX-Request": "true"})
    newcomer = api.propose(params={"customer": "cus_new", "amount": 5, "currency": "EUR"}).json()["id"]
    changed = client.get(f"/inbox/changes?version={version}", headers={"HX-Request": "true"})

    assert unchanged.status_code == 204
    assert changed.status_code == 200
    assert changed.content.decode().lstrip().startswith('<div id="queue" data-pending="2">')
    assert f"action-{newcomer}" in changed.content.decode()


def test_the_poll_shows_an_end_users_appeal_that_arrives_alone(client, supervisor, api, pending):
    client.force_login(supervisor)
    version = re.search(r"version=([^&\"]+)", client.get("/").content.decode()).group(1)

    api.post("/escalations", {"kind": "human", "message": "Please call me", "session_id": "run-7"})
    changed = client.get(f"/inbox/changes?version={version}", headers={"HX-Request": "true"})
    assert changed.status_code == 200
    assert "Please call me" in changed.content.decode()

    version = re.search(r"version=([^&\"]+)", changed.content.decode()).group(1)
    Appeal.objects.get().resolve(by=supervisor)
    resolved = client.get(f"/inbox/changes?version={version}", headers={"HX-Request": "true"})
    assert resolved.status_code == 200
    assert "Please call me" not in resolved.content.decode()


def test_only_the_most_urgent_page_is_rendered(client, supervisor, agent, refund_type):
    pending_actions(agent, refund_type, 55)
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert len(cards_in_order(page)) == 50
    assert "55 waiting, showing the 50 most urgent" in page
    assert len(cards_in_order(client.get("/?page=2").content.decode())) == 5


def test_a_suggestion_offers_mark_as_done_and_dismiss(client, supervisor, suggestion):
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "Deploy web version 1.2.3 to production" in page
    assert "Mark as done" in page and "Dismiss" in page
    assert timezone.now() - suggestion.created_at < timedelta(minutes=1)
