"""HumanLayer's contact requests (`human_as_tool()`), reject options, verbatim comments and
`escalate_email`, through the real `humanlayer` SDK, sync and async, unchanged but for its API base."""

import asyncio
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from humanlayer import AsyncHumanLayer
from humanlayer.core.models import Escalation, HumanContactSpec, ResponseOption
from humanlayer.core.protocol import HumanLayerException

from approvals.models import Action, Notification, Question
from audit.models import Event
from policies.models import EscalationTier
from tests.client.test_humanlayer import email
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def async_hl(live_server, token):
    async def sleep(seconds):
        await asyncio.sleep(0.05)

    return AsyncHumanLayer(
        api_key=token, api_base_url=live_server.url + "/api/v1/humanlayer", run_id="support-run-4", sleep=sleep
    )


@pytest.fixture
def reviewer(client, supervisor):
    client.force_login(supervisor)
    return client


def open_question(timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        question = Question.objects.open().select_related("agent").first()
        if question is not None:
            return question
        time.sleep(0.02)
    raise AssertionError("The agent never asked a question.")


def test_a_question_becomes_a_card_and_the_typed_answer_goes_back_verbatim(hl, reviewer, in_background):
    ask = hl.human_as_tool()
    asking = in_background(ask, "Is a refund over $500 fine for cus_123?")

    question = open_question()
    assert question.session_id == "billing-run-7"
    inbox = reviewer.get("/").content.decode()
    assert "Is a refund over $500 fine for cus_123?" in inbox and f"question-{question.pk}" in inbox

    answer = "  Yes, up to $750 — but note it in the ticket.\nThanks"
    response = reviewer.post(f"/questions/{question.pk}/answer", {"response": answer})
    assert response.status_code == 302

    assert asking.result(timeout=20) == answer.strip()
    kinds = list(Event.objects.filter(kind__startswith="question.").order_by("seq").values_list("kind", flat=True))
    assert kinds == ["question.asked", "question.answered"]
    assert Event.objects.get(kind="question.answered").data["response"] == answer.strip()


def test_the_async_sdk_gets_the_answer_too(async_hl, reviewer, in_background):
    ask = async_hl.human_as_tool()
    asking = in_background(asyncio.run, ask("Which warehouse ships order 77?"))

    question = open_question()
    reviewer.post(f"/questions/{question.pk}/answer", {"response": "Leeds"}, headers={"HX-Request": "true"})

    assert asking.result(timeout=20) == "Leeds"


def test_a_response_option_is_returned_by_name(hl, reviewer):
    options = [ResponseOption(name="approve_partial", title="Refund half", prompt_fill="Refund half of it")]
    contact = hl.create_human_contact(HumanContactSpec(msg="How much do we refund?", response_options=options))
    question = Question.objects.get()
    assert "Refund half" in reviewer.get("/").content.decode()

    reviewer.post(f"/questions/{question.pk}/answer", {"option": "approve_partial"})

    status = hl.get_human_contact(contact.call_id).status
    assert (status.response, status.response_option_name) == ("Refund half of it", "approve_partial")


def test_an_empty_answer_or_an_unknown_option_is_refused_and_changes_nothing(hl, reviewer):
    hl.create_human_contact(HumanContactSpec(msg="Anything?"))
    question = Question.objects.get()

    for posted in ({"response": "   "}, {"option": "made_up"}):
        response = reviewer.post(f"/questions/{question.pk}/answer", posted, headers={"HX-Request": "true"})
        assert response.status_code == 200 and 'role="alert"' in response.content.decode()

    question.refresh_from_db()
    assert question.answered_at is None
    assert not Event.objects.filter(kind="question.answered").exists()


def test_a_second_answer_is_a_conflict_and_the_first_stands(hl, reviewer, supervisor):
    hl.create_human_contact(HumanContactSpec(msg="Ship today?"))
    question = Question.objects.get()
    question.answer(by=supervisor, response="Yes")

    response = reviewer.post(f"/questions/{question.pk}/answer", {"response": "No"}, headers={"HX-Request": "true"})

    assert "Already answered by sue" in response.content.decode()
    question.refresh_from_db()
    assert question.response == "Yes"


def test_only_supervisors_answer_questions(hl, client, outsider):
    hl.create_human_contact(HumanContactSpec(msg="Ship today?"))
    question = Question.objects.get()
    client.force_login(outsider)

    assert "Ship today?" not in client.get("/").content.decode()
    assert client.post(f"/questions/{question.pk}/answer", {"response": "Yes"}).status_code == 403
    assert client.get(f"/questions/{question.pk}/answer").status_code == 405


def test_the_agent_cannot_answer_its_own_question(hl):
    from humanlayer.core.models import HumanContactStatus

    contact = hl.create_human_contact(HumanContactSpec(msg="Ship today?"))

    with pytest.raises(HumanLayerException):
        hl.respond_to_human_contact(contact.call_id, HumanContactStatus(response="yes"))
    assert Question.objects.get().answered_at is None


def test_escalate_email_expedites_the_question_to_the_top_of_the_inbox_and_audits_it(hl, reviewer):
    hl.create_human_contact(HumanContactSpec(msg="First"))
    contact = hl.create_human_contact(HumanContactSpec(msg="Second"))

    hl.escalate_email_human_contact(contact.call_id, Escalation(escalation_msg="The customer is on the phone"))

    inbox = reviewer.get("/").content.decode()
    assert inbox.index("Second") < inbox.index("First")
    assert "Urgent: The customer is on the phone" in inbox
    assert Event.objects.get(kind="question.expedited").data["message"] == "The customer is on the phone"


def test_escalate_email_sends_a_call_to_its_next_tier_and_audits_the_message(hl, refund_type, agent):
    from humanlayer.core.models import FunctionCallSpec

    EscalationTier.objects.create(
        action_type=refund_type, position=1, emails="finance-leads@example.com", duration=timedelta(hours=2)
    )
    call = hl.create_function_call(
        FunctionCallSpec(fn="payments.refund", kwargs={"customer": "cus_1", "amount": 1, "currency": "USD"})
    )
    before = timezone.now()

    answered = hl.escalate_email_function_call(call.call_id, Escalation(escalation_msg="The customer is on the phone"))

    assert answered.call_id == call.call_id and answered.status.approved is None  # still waiting, for tier 1
    action = Action.objects.get()
    assert action.status == "pending" and action.escalation_tier == 1
    assert before + timedelta(hours=2) <= action.due_at <= timezone.now() + timedelta(hours=2)
    [notice] = Notification.objects.filter(action=action)
    assert (notice.kind, notice.tier, notice.target) == ("escalated", 1, "finance-leads@example.com")
    escalated = Event.objects.get(kind="action.escalated", action_id=action.pk)
    assert (escalated.actor_kind, escalated.actor_name) == ("agent", agent.name)
    assert escalated.data["to_tier"] == 1 and escalated.data["notified"] == ["finance-leads@example.com"]
    requested = Event.objects.get(kind="action.escalation_requested", action_id=action.pk)
    assert requested.data["message"] == "The customer is on the phone"


def test_escalate_email_on_a_call_without_a_further_tier_is_a_clear_conflict(hl, refund_type):
    from humanlayer.core.models import FunctionCallSpec

    call = hl.create_function_call(
        FunctionCallSpec(fn="payments.refund", kwargs={"customer": "cus_1", "amount": 1, "currency": "USD"})
    )

    with pytest.raises(HumanLayerException, match="no further tier"):
        hl.escalate_email_function_call(call.call_id, Escalation(escalation_msg="urgent"))
    assert Action.objects.get().escalation_tier == 0


# Reject options and verbatim comments on function calls.


@pytest.fixture
def send_email(hl, email_type, outbox):
    email_type.pk, email_type.key = None, "send_email"
    email_type.save()
    options = [ResponseOption(name="wrong_recipient", title="Wrong recipient"), ResponseOption(name="too_soon")]

    @hl.require_approval(reject_options=options)
    def send_email(to: list, subject: str, body: str) -> str:
        outbox.append(subject)
        return "sent"

    return send_email


@pytest.fixture
def outbox():
    return []


@pytest.fixture
def email_reviewer(client, supervisor, send_email):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    from policies.models import ActionType

    assign_perm(
        "policies.review_actiontype", Group.objects.get(name="supervisors"), ActionType.objects.get(key="send_email")
    )
    client.force_login(supervisor)
    return client


def test_reject_options_are_offered_as_reasons_and_returned_by_name(
    hl, send_email, email_reviewer, outbox, in_background
):
    sending = in_background(email, send_email)
    action = pending_action()
    card = email_reviewer.get("/").content.decode()
    assert 'name="option"' in card and "Wrong recipient" in card and "too_soon" in card

    email_reviewer.post(f"/actions/{action.pk}/reject", {"option": "wrong_recipient"})

    assert sending.result(timeout=20) == "User denied send_email with message: Wrong recipient"
    status = hl.get_function_call(action.idempotency_key.removeprefix("humanlayer:")).status
    assert (status.approved, status.reject_option_name) == (False, "wrong_recipient")
    assert Event.objects.get(kind="action.rejected").data["reject_option"] == "wrong_recipient"
    assert outbox == []


def test_a_rejections_comment_comes_back_verbatim_with_the_option(send_email, email_reviewer, in_background):
    sending = in_background(email, send_email)
    action = pending_action()

    email_reviewer.post(
        f"/actions/{action.pk}/reject", {"option": "too_soon", "reason": "Wait for Monday's invoice run"}
    )

    assert sending.result(timeout=20) == "User denied send_email with message: Wait for Monday's invoice run"


def test_an_option_the_agent_did_not_offer_is_refused(send_email, email_reviewer, supervisor, in_background):
    sending = in_background(email, send_email)
    action = pending_action()

    response = email_reviewer.post(
        f"/actions/{action.pk}/reject", {"option": "made_up", "reason": "x"}, headers={"HX-Request": "true"}
    )

    assert "The agent offered no reason named “made_up”." in response.content.decode()
    action.refresh_from_db()
    assert action.status == "pending"
    action.reject(by=supervisor, reason="done")  # let the agent's thread finish
    sending.result(timeout=20)
