"""The Pydantic AI adapter end to end: a real Agent on a FunctionModel script, its deferred tool
approvals decided in Countersign."""

import pytest
from pydantic_ai import Agent, DeferredToolRequests, Tool
from pydantic_ai.messages import ModelRequest, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import FunctionModel

from approvals.models import Action
from hitl_client.pydantic_ai import approvals, run_sync
from tests.client.outages import assert_failed_closed, audited_outcome, outcome
from tests.client.test_langgraph import pending_actions

pytestmark = pytest.mark.django_db(transaction=True)

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}
ACTION_NAMES = {"refund": "payments.refund", "send_email": "email.send"}


def script(*calls):
    """A model that makes `calls` in its first turn, then repeats what each tool (or the reviewer) answered."""

    def model(messages, info):
        if len(messages) == 1:
            return ModelResponse(
                parts=[ToolCallPart(name, args, tool_call_id=f"call_{i}") for i, (name, args) in enumerate(calls)]
            )
        answers = [part.content for part in messages[-1].parts if hasattr(part, "tool_call_id")]
        return ModelResponse(parts=[TextPart(" | ".join(str(a) for a in answers))])

    return FunctionModel(model)


@pytest.fixture
def ran():
    return []


@pytest.fixture
def tools(ran):
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        ran.append(("refund", amount))
        return f"refunded {amount} {currency}"

    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email."""
        ran.append(("send_email", subject))
        return f"sent {subject}"

    return [Tool(refund, requires_approval=True), Tool(send_email, requires_approval=True)]


def inline_agent(countersign, tools, *calls):
    return Agent(
        script(*calls),
        tools=tools,
        capabilities=[approvals(countersign, action_names=ACTION_NAMES, wait_timeout=20)],
    )


def test_an_approved_call_runs(countersign, refund_type, supervisor, tools, ran, in_background):
    agent = inline_agent(countersign, tools, ("refund", REFUND))
    running = in_background(agent.run_sync, "Refund order 981")

    [action] = pending_actions(1)
    assert action.params == REFUND
    action.approve(by=supervisor)

    assert running.result(timeout=30).output == "refunded 750.0 USD"
    assert ran == [("refund", 750)]
    [executed] = outcome()
    assert audited_outcome(executed)["output"] == {"result": "refunded 750.0 USD"}


def test_a_failing_tool_ends_failed(countersign, refund_type, supervisor, in_background):
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        raise RuntimeError("the payment provider is down")

    agent = inline_agent(countersign, [Tool(refund, requires_approval=True)], ("refund", REFUND))
    running = in_background(agent.run_sync, "Refund order 981")

    pending_actions(1)[0].approve(by=supervisor)

    with pytest.raises(RuntimeError, match="the payment provider is down"):
        running.result(timeout=30)
    [failed] = outcome()
    assert failed.status == "failed"
    assert audited_outcome(failed)["error"] == "RuntimeError: the payment provider is down"


def test_an_outage_does_not_run_the_tool_and_the_model_hears_why(outage, tools, ran):
    with outage.client() as client:
        agent = Agent(
            script(("refund", outage.args)),
            tools=tools,
            capabilities=[approvals(client, action_names=ACTION_NAMES, wait_timeout=outage.wait_timeout)],
        )
        said = agent.run_sync("Refund order 981").output
    assert_failed_closed(outage, said, ran)


def test_an_edited_call_runs_with_the_reviewers_arguments_without_a_second_review(
    countersign, refund_type, supervisor, tools, ran, in_background
):
    agent = inline_agent(countersign, tools, ("refund", REFUND))
    running = in_background(agent.run_sync, "Refund order 981")

    pending_actions(1)[0].approve(by=supervisor, params={**REFUND, "amount": 500})

    said = running.result(timeout=30).output
    assert said.startswith("A reviewer changed this call's arguments before it ran (amount: 750 → 500)")
    assert said.endswith("refunded 500.0 USD")
    assert ran == [("refund", 500)]
    assert Action.objects.count() == 1


def test_a_rejected_call_does_not_run_and_the_model_hears_why(
    countersign, refund_type, supervisor, tools, ran, in_background
):
    agent = inline_agent(countersign, tools, ("refund", REFUND))
    running = in_background(agent.run_sync, "Refund order 981")

    pending_actions(1)[0].reject(by=supervisor, reason="Refunded already on T-977")

    assert "Refunded already on T-977" in running.result(timeout=30).output
    assert ran == []


def test_two_calls_in_one_turn_are_both_waiting_before_either_is_decided(
    countersign, refund_type, email_type, supervisor, tools, ran, in_background
):
    agent = inline_agent(countersign, tools, ("refund", REFUND), ("send_email", EMAIL))
    running = in_background(agent.run_sync, "Refund and tell Ann")

    email, refund = pending_actions(2)  # ordered by action type key
    email.approve(by=supervisor, params={**EMAIL, "subject": "Your invoice"})
    refund.reject(by=supervisor, reason="Over the limit")

    output = running.result(timeout=30).output
    assert ran == [("send_email", "Your invoice")]
    assert "Over the limit" in output and "sent Your invoice" in output


def test_a_run_that_ends_with_deferred_requests_is_continued_with_the_decisions(
    countersign, refund_type, supervisor, tools, ran, in_background
):
    agent = Agent(script(("refund", REFUND)), tools=tools, output_type=[str, DeferredToolRequests])
    running = in_background(
        run_sync, countersign, agent, "Refund order 981", action_names=ACTION_NAMES, wait_timeout=20
    )

    pending_actions(1)[0].approve(by=supervisor, params={**REFUND, "amount": 20})

    result = running.result(timeout=30)
    assert result.output.endswith("refunded 20.0 USD") and "amount: 750 → 20" in result.output
    assert ran == [("refund", 20)]
    assert outcome()[0].status == "executed"
    assert isinstance(result.all_messages()[0], ModelRequest)
