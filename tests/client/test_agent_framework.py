"""The Microsoft Agent Framework adapter end to end: a real Agent with approval-required tools on a
scripted chat client, its function approval requests answered from Countersign."""

import asyncio
import json

import pytest
from agent_framework import Agent, BaseChatClient, ChatResponse, Content, FunctionInvocationLayer, Message, tool

from approvals.models import Action
from hitl_client.agent_framework import run
from policies.models import StandingApproval
from tests.client.outages import assert_failed_closed, audited_outcome, outcome
from tests.client.test_langgraph import pending_actions

pytestmark = pytest.mark.django_db(transaction=True)

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}
ACTION_NAMES = {"refund": "payments.refund", "send_email": "email.send"}


class ScriptedClient(FunctionInvocationLayer, BaseChatClient):
    """Calls the scripted tools first, then repeats everything it was told after its own calls."""

    def __init__(self, calls, **kwargs):
        super().__init__(**kwargs)
        self.calls = calls

    async def _inner_get_response(self, *, messages, stream, options, **kwargs):
        called = [i for i, m in enumerate(messages) if any(c.type == "function_call" for c in m.contents)]
        if not called:
            contents = [
                Content.from_function_call(call_id=f"call_{i}", name=name, arguments=json.dumps(args))
                for i, (name, args) in enumerate(self.calls)
            ]
        else:
            told = [
                str(c.result) if c.type == "function_result" else c.text
                for m in messages[called[-1] + 1 :]
                for c in m.contents
                if c.type in ("function_result", "text")
            ]
            contents = [Content.from_text(" | ".join(told))]
        return ChatResponse(messages=[Message(role="assistant", contents=contents)])


@pytest.fixture
def ran():
    return []


@pytest.fixture
def tools(ran):
    @tool(approval_mode="always_require")
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        ran.append(("refund", amount))
        return f"refunded {amount} {currency}"

    @tool(approval_mode="always_require")
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email."""
        ran.append(("send_email", subject))
        return f"sent {subject}"

    return [refund, send_email]


def converse(countersign, tools, *calls, wait_timeout=20):
    agent = Agent(client=ScriptedClient(list(calls)), tools=tools)
    response = asyncio.run(
        run(countersign, agent, "Order 981 was charged twice.", action_names=ACTION_NAMES, wait_timeout=wait_timeout)
    )
    return response.text


def test_an_approved_call_runs(countersign, tools, refund_type, supervisor, ran, in_background):
    running = in_background(converse, countersign, tools, ("refund", REFUND))

    [action] = pending_actions(1, timeout=60)
    assert (action.action_type.key, action.params) == ("payments.refund", REFUND)
    action.approve(by=supervisor)

    assert running.result(timeout=30) == "refunded 750.0 USD"
    assert ran == [("refund", 750)]
    [executed] = outcome()
    assert audited_outcome(executed)["output"] == {"result": "refunded 750.0 USD"}


def test_a_failing_tool_ends_failed(countersign, refund_type, supervisor, in_background):
    @tool(approval_mode="always_require")
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        raise RuntimeError("the payment provider is down")

    running = in_background(converse, countersign, [refund], ("refund", REFUND))

    pending_actions(1, timeout=60)[0].approve(by=supervisor)

    running.result(timeout=30)
    [failed] = outcome()
    assert audited_outcome(failed)["error"] == "RuntimeError: the payment provider is down"


def test_an_outage_does_not_run_the_tool_and_the_model_hears_why(outage, tools, ran):
    with outage.client() as client:
        said = converse(client, tools, ("refund", outage.args), wait_timeout=outage.wait_timeout)
    assert_failed_closed(outage, said, ran)


def test_a_rejected_call_does_not_run_and_the_model_hears_why(
    countersign, tools, refund_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND))

    pending_actions(1, timeout=60)[0].reject(by=supervisor, reason="Refunded already on T-977")

    assert "Refunded already on T-977" in running.result(timeout=30)
    assert ran == []


def test_an_edited_approval_runs_the_reviewers_arguments_without_a_second_review(
    countersign, tools, refund_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND))

    pending_actions(1, timeout=60)[0].approve(by=supervisor, params={**REFUND, "amount": 500})

    said = running.result(timeout=30)
    assert ran == [("refund", 500)]  # once, with the reviewer's amount; the model's 750 never ran
    assert "refunded 500.0 USD" in said and "changed this call's arguments before it ran (amount: 750 → 500)" in said
    assert Action.objects.count() == 1  # nobody was asked about the replacement
    assert outcome()[0].status == "executed"
    assert not StandingApproval.objects.exists()


def test_an_edited_and_an_approved_call_of_one_turn_both_run_once(
    countersign, tools, refund_type, email_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND), ("send_email", EMAIL))

    email, refund = pending_actions(2, timeout=60)
    email.approve(by=supervisor, params={**EMAIL, "subject": "Your invoice"})
    refund.approve(by=supervisor)

    said = running.result(timeout=30)
    assert sorted(ran) == [("refund", 750), ("send_email", "Your invoice")]
    assert "refunded 750.0 USD" in said and "sent Your invoice" in said
    assert Action.objects.count() == 2


def test_two_calls_in_one_turn_wait_together(
    countersign, tools, refund_type, email_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND), ("send_email", EMAIL))

    email, refund = pending_actions(2, timeout=60)
    email.approve(by=supervisor)
    refund.reject(by=supervisor, reason="Over the limit")

    said = running.result(timeout=30)
    assert ran == [("send_email", "Your invioce")]
    assert "Over the limit" in said and "sent Your invioce" in said
    assert Action.objects.count() == 2
