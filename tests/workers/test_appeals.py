"""The end user's "This is wrong" / "Get a human", forwarded by the agent to the inbox."""

import uuid

import pytest
from django.core import mail
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.utils import timezone

from approvals.models import Appeal
from audit.models import Event
from policies.models import Agent

pytestmark = pytest.mark.django_db


def render_inbox_top(user):
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load cards %}{% appeals %}").render(RequestContext(request))


def test_get_a_human_reaches_the_supervisors_with_its_sla_and_the_sessions_actions(api, supervisor, settings):
    first = api.propose(session_id="run-42").json()
    api.propose(session_id="run-42", params={"customer": "cus_9", "amount": 5, "currency": "EUR"})
    api.propose(session_id="other-run", params={"customer": "cus_7", "amount": 1, "currency": "USD"})

    response = api.post(
        "/escalations", {"kind": "human", "message": "<b>I never asked</b> for this", "action_id": first["id"]}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["session_id"]) == ("human", "open", "run-42")
    appeal = Appeal.objects.get(pk=body["id"])
    assert appeal.due_at - appeal.created_at == settings.HITL_USER_ESCALATION_SLA
    assert [a.params["customer"] for a in appeal.session_actions()] == ["cus_9", "cus_123"]
    assert Event.objects.get(kind="escalation.opened").data["kind"] == "human"

    html = render_inbox_top(supervisor)
    assert "Get a human" in html and "session run-42" in html
    assert "&lt;b&gt;I never asked&lt;/b&gt;" in html and "<b>" not in html
    assert "Refund €5.00 to customer cus_9" in html and "cus_7" not in html


def test_an_appeal_needs_a_session_or_an_action_and_a_known_kind(api, refund_type):
    assert api.post("/escalations", {"kind": "human"}).json()["error"]["code"] == "bad_request"
    assert api.post("/escalations", {"kind": "angry", "session_id": "s"}).status_code == 400
    assert api.post("/escalations", {"kind": "wrong", "action_id": str(uuid.uuid4())}).status_code == 404
    assert not Appeal.objects.exists()


def test_an_agent_cannot_escalate_another_agents_action(api, client, refund_type):
    other = Agent.objects.create(name="other-agent")
    foreign = api.propose().json()["id"]
    from tests.conftest import AgentApi

    other_api = AgentApi(client, other.issue_token())
    assert other_api.post("/escalations", {"kind": "wrong", "action_id": foreign}).status_code == 404


def test_a_supervisor_resolves_it_once(api, client, supervisor, second_supervisor):
    appeal_id = api.post("/escalations", {"kind": "wrong", "session_id": "run-1"}).json()["id"]
    client.force_login(supervisor)

    first = client.post(f"/appeals/{appeal_id}/resolve")
    client.force_login(second_supervisor)
    second = client.post(f"/appeals/{appeal_id}/resolve", headers={"HX-Request": "true"})

    assert first.status_code == 302
    assert "already resolved" in second.content.decode()
    assert Event.objects.filter(kind="escalation.resolved").count() == 1
    assert "This is wrong" not in render_inbox_top(supervisor)


def test_only_reviewers_of_the_actions_type_see_or_resolve_it(api, client, outsider):
    action_id = api.propose(session_id="run-1").json()["id"]
    appeal_id = api.post("/escalations", {"kind": "wrong", "action_id": action_id}).json()["id"]
    client.force_login(outsider)

    assert client.post(f"/appeals/{appeal_id}/resolve").status_code == 403
    assert client.post(f"/appeals/{uuid.uuid4()}/resolve").status_code == 404
    assert client.get(f"/appeals/{appeal_id}/resolve").status_code == 405
    assert "This is wrong" not in render_inbox_top(outsider)
    assert Appeal.objects.get().resolved_at is None


def test_an_overdue_appeal_says_so(api, supervisor):
    appeal_id = api.post("/escalations", {"kind": "human", "session_id": "run-1"}).json()["id"]
    Appeal.objects.filter(pk=appeal_id).update(due_at=timezone.now())

    assert "Overdue since" in render_inbox_top(supervisor)


def test_the_reviewers_and_the_first_tier_are_told_at_once(api, supervisor, two_tiers, receiver):
    from approvals import notifications
    from approvals.models import Notification

    action_id = api.propose(session_id="run-7").json()["id"]
    api.post("/escalations", {"kind": "wrong", "session_id": "run-7", "message": "Refund <the other> order"})

    for notification in Notification.objects.filter(kind="appeal"):
        assert notifications.deliver(notification.pk) is None

    assert sorted(m.to[0] for m in mail.outbox) == ["mia@example.com", "oncall@example.com", "sue@example.com"]
    assert "The end user says: Refund <the other> order" in mail.outbox[0].body
    assert receiver.received == []  # the webhook belongs to the second tier
    assert {n.action_id for n in Notification.objects.all()} == {uuid.UUID(action_id)}


def test_an_auditor_can_neither_see_nor_resolve_a_get_a_human(api, client, supervisor, auditor, outsider):
    # A session-only appeal names no action type; it is still a supervisor's, not anyone's.
    appeal_id = api.post("/escalations", {"kind": "human", "session_id": "run-1"}).json()["id"]

    for user in (auditor, outsider):
        client.force_login(user)
        assert client.post(f"/appeals/{appeal_id}/resolve").status_code == 403
        assert "Get a human" not in render_inbox_top(user)
    assert Appeal.objects.get().resolved_at is None
    assert "Get a human" in render_inbox_top(supervisor)


def test_a_supervisor_says_im_on_it_and_the_others_see_who(api, client, supervisor, second_supervisor, outsider):
    appeal_id = api.post("/escalations", {"kind": "human", "session_id": "run-1"}).json()["id"]
    assert "Nobody is on it yet" in render_inbox_top(second_supervisor)
    client.force_login(supervisor)

    assert client.post(f"/appeals/{appeal_id}/claim").status_code == 302

    assert "sue is on it since" in render_inbox_top(second_supervisor)
    assert "You are on it since" in render_inbox_top(supervisor)
    client.force_login(second_supervisor)
    second = client.post(f"/appeals/{appeal_id}/claim", headers={"HX-Request": "true"}).content.decode()
    assert "sue is on it since" in second and 'role="alert"' in second
    [claimed] = Event.objects.filter(kind="escalation.claimed")
    assert claimed.actor_name == "sue" and claimed.data["escalation_id"] == appeal_id
    assert Appeal.objects.get().claimed_by == supervisor
    assert client.get(f"/appeals/{appeal_id}/claim").status_code == 405
    client.force_login(outsider)
    assert client.post(f"/appeals/{appeal_id}/claim").status_code == 403
    assert client.post(f"/appeals/{uuid.uuid4()}/claim").status_code == 404


def test_resolving_keeps_what_was_done_for_the_log(api, client, supervisor):
    appeal_id = api.post("/escalations", {"kind": "human", "session_id": "run-1"}).json()["id"]
    client.force_login(supervisor)

    card = client.post(
        f"/appeals/{appeal_id}/resolve",
        {"note": "Called her <b>back</b>; refunded by hand"},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "Resolved by sue" in card and "Called her &lt;b&gt;back&lt;/b&gt;; refunded by hand" in card
    assert Appeal.objects.get().resolution_note == "Called her <b>back</b>; refunded by hand"
    assert Event.objects.get(kind="escalation.resolved").data["note"] == "Called her <b>back</b>; refunded by hand"


def test_the_card_shows_the_session_so_far_proposals_decisions_and_questions(api, agent, supervisor):
    from approvals.models import Action, Question

    first = api.propose(session_id="run-9", rationale="She asked for <i>all</i> of it back").json()["id"]
    Action.objects.get(pk=first).reject(by=supervisor, reason="Only the damaged item")
    question, _ = Question.ask(agent=agent, call_id="q1", message="Refund the shipping too?", session_id="run-9")
    question.answer(by=supervisor, response="No, not the shipping")
    api.propose(session_id="run-9", params={"customer": "cus_123", "amount": 20, "currency": "USD"})
    api.post("/escalations", {"kind": "human", "session_id": "run-9", "message": "Get me a person"})

    html = render_inbox_top(supervisor)

    assert "The session so far (3)" in html
    assert "The agent said:</span> She asked for &lt;i&gt;all&lt;/i&gt; of it back" in html
    assert "Rejected by sue: “<span hx-disable>Only the damaged item</span>”" in html
    assert "the agent asked a person:" in html and "Refund the shipping too?" in html
    assert "answered by sue: “<span hx-disable>No, not the shipping</span>”" in html
    assert html.index("Refund $750.00") < html.index("Refund the shipping too?") < html.index("Refund $20.00")


def test_the_inbox_reads_every_appeals_conversation_in_the_same_queries_however_many(api, agent, supervisor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from approvals.models import Question

    def appeal_in(session):
        api.propose(session_id=session, rationale=f"in {session}")
        Question.ask(agent=agent, call_id=f"q-{session}", message=f"Asked in {session}", session_id=session)
        api.post("/escalations", {"kind": "human", "session_id": session, "message": "Get me a person"})

    def queries_and_page():
        with CaptureQueriesContext(connection) as queries:
            html = render_inbox_top(supervisor)
        return len(queries), html

    appeal_in("run-1")
    queries_and_page()  # what a process reads once (content types, permissions) is read
    one, _ = queries_and_page()
    for n in range(2, 6):
        appeal_in(f"run-{n}")
    five, html = queries_and_page()

    assert five == one
    assert html.count("The session so far (2)") == 5 and "Asked in run-5" in html


def test_an_appeal_email_names_the_appeal_links_to_it_and_approves_nothing(api, supervisor, settings):
    """It used to carry Approve for the session's newest pending refund: one click approved a
    second refund for the customer who had complained about the first."""
    from approvals import notifications
    from approvals.models import Notification

    api.propose(session_id="run-9")
    newest = api.propose(session_id="run-9", params={"customer": "cus_123", "amount": 1800, "currency": "USD"})
    complaint = {"kind": "wrong", "session_id": "run-9", "message": "Refunded twice"}
    appeal_id = api.post("/escalations", complaint).json()["id"]

    for notification in Notification.objects.filter(kind="appeal"):
        assert notifications.deliver(notification.pk) is None

    message = mail.outbox[0]
    assert message.subject == "An end user asks for a person: This is wrong (session run-9)"
    assert f"Answer it in the inbox: {settings.SITE_URL}/#appeal-{appeal_id}" in message.body
    assert "The end user says: Refunded twice" in message.body
    assert "Approve:" not in message.body and "Reject:" not in message.body and "/email/" not in message.body
    assert newest.json()["id"] in message.body  # the action it is sent with, named as what it is


def test_an_appeal_shows_what_ran_after_an_edit_not_only_what_was_proposed(api, supervisor, refund_type):
    from approvals.models import Action

    proposed = api.propose(session_id="run-5", params={"customer": "cus_1", "amount": 1800, "currency": "USD"})
    action = Action.objects.get(pk=proposed.json()["id"])
    action.approve(by=supervisor, params={**action.params, "amount": 900})
    api.post("/escalations", {"kind": "human", "session_id": "run-5"})

    html = render_inbox_top(supervisor)

    assert "Refund $1,800.00 to customer cus_1" in html  # what was proposed
    assert "Approved with changes by sue" in html
    assert "What was approved: <strong hx-disable>Refund $900.00 to customer cus_1</strong>" in html
