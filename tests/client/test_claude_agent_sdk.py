"""The Claude Agent SDK adapter end to end: a real ClaudeSDKClient with in-process MCP tools, its
`can_use_tool` permissions decided in Countersign. The CLI (and the model behind it) is outside the
product, so `examples/claude_cli.py` plays the CLI's side of the SDK's protocol with a scripted turn."""

import asyncio

import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    TextBlock,
    create_sdk_mcp_server,
    tool,
)

from approvals.models import Action
from examples.claude_cli import ScriptedCLI
from hitl_client.claude_agent_sdk import options
from tests.client.outages import assert_failed_closed, audited_outcome, outcome
from tests.client.test_langgraph import pending_actions

pytestmark = pytest.mark.django_db(transaction=True)

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}
ACTION_NAMES = {"mcp__billing__refund": "payments.refund", "mcp__billing__send_email": "email.send"}


@pytest.fixture
def ran():
    return []


@pytest.fixture
def billing(ran):
    @tool("refund", "Refund a customer", {"customer": str, "amount": float, "currency": str})
    async def refund(args):
        ran.append(("refund", args["amount"]))
        return {"content": [{"type": "text", "text": f"refunded {args['amount']} {args['currency']}"}]}

    @tool("send_email", "Send an email", {"to": list, "subject": str, "body": str})
    async def send_email(args):
        ran.append(("send_email", args["subject"]))
        return {"content": [{"type": "text", "text": f"sent {args['subject']}"}]}

    return create_sdk_mcp_server("billing", tools=[refund, send_email])


def converse(countersign, billing, *calls, wait_timeout=20, gate=None):
    """One turn with Claude; returns what it said last. `gate`: the `can_use_tool`/`hooks` options to use."""

    async def turn():
        settings = ClaudeAgentOptions(
            mcp_servers={"billing": billing},
            **(gate or options(countersign, action_names=ACTION_NAMES, wait_timeout=wait_timeout)),
        )
        said = []
        async with ClaudeSDKClient(settings, transport=ScriptedCLI(*calls)) as claude:
            await claude.query("Order 981 was charged twice.")
            async for message in claude.receive_response():
                if isinstance(message, AssistantMessage):
                    said += [block.text for block in message.content if isinstance(block, TextBlock)]
        return said[-1]

    return asyncio.run(turn())


def test_an_allowed_tool_runs(countersign, billing, refund_type, supervisor, ran, in_background):
    running = in_background(converse, countersign, billing, ("mcp__billing__refund", REFUND))

    [action] = pending_actions(1)
    assert (action.action_type.key, action.params) == ("payments.refund", REFUND)
    action.approve(by=supervisor)

    assert running.result(timeout=30) == "refunded 750 USD"
    assert ran == [("refund", 750)]
    [executed] = outcome()
    assert audited_outcome(executed)["output"] == {"result": [{"type": "text", "text": "refunded 750 USD"}]}


def test_a_failing_tool_ends_failed(countersign, refund_type, supervisor, in_background):
    @tool("refund", "Refund a customer", {"customer": str, "amount": float, "currency": str})
    async def refund(args):
        raise RuntimeError("the payment provider is down")

    billing = create_sdk_mcp_server("billing", tools=[refund])
    running = in_background(converse, countersign, billing, ("mcp__billing__refund", REFUND))

    pending_actions(1)[0].approve(by=supervisor)

    assert "the payment provider is down" in running.result(timeout=30)
    [failed] = outcome()
    assert failed.status == "failed" and "the payment provider is down" in audited_outcome(failed)["error"]


def test_an_outage_denies_the_tool_and_claude_hears_why(outage, billing, ran):
    with outage.client() as client:
        said = converse(client, billing, ("mcp__billing__refund", outage.args), wait_timeout=outage.wait_timeout)
    assert_failed_closed(outage, said, ran)


def test_a_permission_callback_that_raises_denies_the_tool_and_the_turn_completes(billing, ran):
    async def broken(tool_name, tool_input, context):
        raise RuntimeError("the permission service is misconfigured")

    said = converse(None, billing, ("mcp__billing__refund", REFUND), gate={"can_use_tool": broken})

    assert said == "Permission check failed: the permission service is misconfigured"
    assert ran == []


def test_an_edited_call_runs_with_the_updated_input_without_a_second_review(
    countersign, billing, refund_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, billing, ("mcp__billing__refund", REFUND))

    pending_actions(1)[0].approve(by=supervisor, params={**REFUND, "amount": 500})

    said = running.result(timeout=30)
    assert said.startswith("A reviewer changed this call's arguments before it ran (amount: 750 → 500)")
    assert said.endswith("refunded 500 USD")
    assert ran == [("refund", 500)]
    assert Action.objects.count() == 1


def test_a_denied_call_does_not_run_and_claude_hears_why(
    countersign, billing, refund_type, supervisor, ran, in_background
):
    running = in_background(converse, countersign, billing, ("mcp__billing__refund", REFUND))

    pending_actions(1)[0].reject(by=supervisor, reason="Refunded already on T-977")

    assert "Refunded already on T-977" in running.result(timeout=30)
    assert ran == []


def test_two_calls_in_one_turn_wait_together(
    countersign, billing, refund_type, email_type, supervisor, ran, in_background
):
    running = in_background(
        converse, countersign, billing, ("mcp__billing__refund", REFUND), ("mcp__billing__send_email", EMAIL)
    )

    email, refund = pending_actions(2)
    email.approve(by=supervisor, params={**EMAIL, "subject": "Your invoice"})
    refund.reject(by=supervisor, reason="Over the limit")

    said = running.result(timeout=30)
    assert ran == [("send_email", "Your invoice")]
    assert "Over the limit" in said and "sent Your invoice" in said
