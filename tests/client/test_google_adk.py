"""The Google ADK adapter end to end: a real LlmAgent and InMemoryRunner on a scripted BaseLlm, its
tool confirmations answered from Countersign."""

import asyncio

import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import InMemoryRunner
from google.adk.tools import FunctionTool, ToolContext
from google.genai import types

from approvals.models import Action
from hitl_client.google_adk import run
from tests.client.outages import assert_failed_closed, audited_outcome, outcome
from tests.client.test_langgraph import pending_actions

pytestmark = pytest.mark.django_db(transaction=True)

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}
ACTION_NAMES = {"refund": "payments.refund", "send_email": "email.send"}


class ScriptedLlm(BaseLlm):
    """Calls the scripted tools in its first turn, then repeats what the tools answered."""

    calls: list = []

    async def generate_content_async(self, llm_request, stream=False):
        answered = [p.function_response for p in llm_request.contents[-1].parts if p.function_response]
        if not answered:
            parts = [types.Part(function_call=types.FunctionCall(name=n, args=a)) for n, a in self.calls]
        else:
            said = [str(r.response.get("result", r.response.get("error"))) for r in answered]
            parts = [types.Part(text=" | ".join(said))]
        yield LlmResponse(content=types.Content(role="model", parts=parts))


@pytest.fixture
def ran():
    return []


@pytest.fixture
def tools(ran):
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        ran.append(("refund", amount))
        return f"refunded {amount} {currency}"

    def send_email(to: list[str], subject: str, body: str, tool_context: ToolContext) -> str:
        """Send an email, asking for confirmation itself."""
        if tool_context.tool_confirmation is None:
            tool_context.request_confirmation(hint="Send this email?")
            return "waiting for confirmation"
        ran.append(("send_email", subject))
        return f"sent {subject}"

    return [FunctionTool(refund, require_confirmation=True), FunctionTool(send_email)]


def converse(countersign, tools, *calls, wait_timeout=20):
    """One conversation turn; returns the agent's last words."""

    async def turn():
        agent = LlmAgent(name="billing", model=ScriptedLlm(model="scripted", calls=list(calls)), tools=tools)
        runner = InMemoryRunner(agent, app_name="billing")
        session = await runner.session_service.create_session(app_name="billing", user_id="ann")
        message = types.Content(role="user", parts=[types.Part(text="Order 981 was charged twice.")])
        events = await run(
            countersign,
            runner,
            user_id="ann",
            session_id=session.id,
            new_message=message,
            action_names=ACTION_NAMES,
            wait_timeout=wait_timeout,
        )
        texts = [p.text for e in events if e.content for p in e.content.parts or [] if p.text]
        return texts[-1]

    return asyncio.run(turn())


def test_a_confirmed_call_runs(countersign, tools, refund_type, supervisor, ran, in_background):
    running = in_background(converse, countersign, tools, ("refund", REFUND))

    [action] = pending_actions(1, timeout=60)
    assert (action.action_type.key, action.params) == ("payments.refund", REFUND)
    action.approve(by=supervisor)

    assert running.result(timeout=30) == "refunded 750 USD"
    assert ran == [("refund", 750)]
    [executed] = outcome()
    assert audited_outcome(executed)["output"] == {"result": "refunded 750 USD"}


def test_a_failing_tool_ends_failed(countersign, refund_type, supervisor, in_background):
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        raise RuntimeError("the payment provider is down")

    running = in_background(
        converse, countersign, [FunctionTool(refund, require_confirmation=True)], ("refund", REFUND)
    )

    pending_actions(1, timeout=60)[0].approve(by=supervisor)

    with pytest.raises(RuntimeError, match="the payment provider is down"):
        running.result(timeout=30)
    [failed] = outcome()
    assert audited_outcome(failed)["error"] == "RuntimeError: the payment provider is down"


def test_an_outage_does_not_run_the_tool_and_the_model_hears_why(outage, tools, ran):
    with outage.client() as client:
        said = converse(client, tools, ("refund", outage.args), wait_timeout=outage.wait_timeout)
    assert_failed_closed(outage, said, ran)


def test_an_edited_call_runs_with_the_reviewers_arguments_without_a_second_review(
    countersign, tools, refund_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND))

    pending_actions(1, timeout=60)[0].approve(by=supervisor, params={**REFUND, "amount": 500})

    said = running.result(timeout=30)
    assert said.startswith("A reviewer changed this call's arguments before it ran (amount: 750 → 500)")
    assert said.endswith("refunded 500 USD")
    assert ran == [("refund", 500)]
    assert Action.objects.count() == 1


def test_a_rejected_call_does_not_run_and_the_model_hears_why(
    countersign, tools, refund_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND))

    pending_actions(1, timeout=60)[0].reject(by=supervisor, reason="Refunded already on T-977")

    assert "Refunded already on T-977" in running.result(timeout=30)
    assert ran == []


def test_two_calls_in_one_turn_wait_together_and_a_tool_that_asks_itself_is_answered_too(
    countersign, tools, refund_type, email_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, tools, ("refund", REFUND), ("send_email", EMAIL))

    email, refund = pending_actions(2, timeout=60)
    email.approve(by=supervisor, params={**EMAIL, "subject": "Your invoice"})
    refund.reject(by=supervisor, reason="Over the limit")

    said = running.result(timeout=30)
    assert ran == [("send_email", "Your invoice")]
    assert "Over the limit" in said and "sent Your invoice" in said
