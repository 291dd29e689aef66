"""The LangGraph adapter end to end: a real LangChain agent on a fake chat model, paused by its
human-in-the-loop interrupts, decided in Countersign, resumed with the decisions."""

import asyncio
import time
from typing import TypedDict

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt.interrupt import ActionRequest, HumanInterrupt, HumanInterruptConfig
from langgraph.types import interrupt

from approvals.models import Action
from hitl_client.langgraph import Mapping, arun, generic, run
from tests.client.outages import assert_failed_closed, audited_outcome, outcome

pytestmark = pytest.mark.django_db(transaction=True)

ACTION_NAMES = {"send_email": "email.send", "delete_file": "files.delete"}


class ScriptedChatModel(GenericFakeChatModel):
    """langchain-core's fake model, taught to accept tools: it answers from its script regardless."""

    def bind_tools(self, tools, **kwargs):
        return self


def script(*tool_calls):
    return ScriptedChatModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": n, "args": a, "id": f"call_{i}"} for i, (n, a) in enumerate(tool_calls)],
                ),
                AIMessage(content="Done."),
            ]
        )
    )


def pending_actions(count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        actions = list(
            Action.objects.filter(status="pending").select_related("action_type").order_by("action_type__key")
        )
        if len(actions) == count:
            return actions
        time.sleep(0.02)
    raise AssertionError(f"Expected {count} pending actions.")


@pytest.fixture
def files_type(email_type):
    email_type.pk, email_type.key, email_type.params_schema = None, "files.delete", {"type": "object"}
    email_type.save()
    return email_type


@pytest.fixture
def sent():
    return []


@pytest.fixture
def tools(sent):
    @tool
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email."""
        sent.append(("send_email", subject))
        return "sent"

    @tool
    def delete_file(path: str) -> str:
        """Delete a file."""
        sent.append(("delete_file", path))
        return "deleted"

    return [send_email, delete_file]


EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}


def email_ann(countersign, agent, thread):
    return run(
        countersign,
        agent,
        {"messages": [{"role": "user", "content": "Email Ann"}]},
        {"configurable": {"thread_id": thread}},
        action_names=ACTION_NAMES,
        wait_timeout=20,  # a failing test must not leave the agent waiting for an hour
    )


@pytest.mark.parametrize("mode", ["batched", "per_call"])
def test_v1_interrupts_are_decided_in_countersign(
    mode, countersign, email_type, files_type, supervisor, tools, sent, in_background
):
    agent = create_agent(
        script(("send_email", EMAIL), ("delete_file", {"path": "/reports/q3.pdf"})),
        tools=tools,
        middleware=[
            HumanInTheLoopMiddleware(interrupt_on={"send_email": True, "delete_file": True}, interrupt_mode=mode)
        ],
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": f"t-{mode}"}}
    running = in_background(
        run,
        countersign,
        agent,
        {"messages": [{"role": "user", "content": "Email Ann, drop the report"}]},
        config,
        action_names=ACTION_NAMES,
        wait_timeout=20,  # a failing test must not leave the agent waiting for an hour
    )

    email, delete = pending_actions(2)
    assert (email.action_type.key, delete.action_type.key) == ("email.send", "files.delete")
    email.approve(by=supervisor, params={**email.params, "subject": "Your invoice"})
    delete.reject(by=supervisor, reason="Keep the report")

    result = running.result(timeout=30)
    assert sent == [("send_email", "Your invoice")]
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert any("Keep the report" in str(m.content) for m in tool_messages)
    assert result["messages"][-1].content == "Done."


def test_legacy_human_interrupts_are_decided_in_countersign(countersign, email_type, supervisor, sent, in_background):
    @tool
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email, after a person reviewed it (the legacy HumanInterrupt pattern)."""
        request = HumanInterrupt(
            action_request=ActionRequest(action="send_email", args={"to": to, "subject": subject, "body": body}),
            config=HumanInterruptConfig(allow_ignore=True, allow_respond=True, allow_edit=True, allow_accept=True),
            description="Review the email",
        )
        response = interrupt([request])[0]
        if response["type"] == "accept":
            args = {"to": to, "subject": subject, "body": body}
        elif response["type"] == "edit":
            args = response["args"]["args"]
        else:
            return f"Not sent: {response['args']}"
        sent.append(("send_email", args["subject"]))
        return "sent"

    agent = create_agent(script(("send_email", EMAIL)), tools=[send_email], checkpointer=InMemorySaver())
    running = in_background(email_ann, countersign, agent, "legacy")

    [email] = pending_actions(1)
    email.approve(by=supervisor, params={**email.params, "subject": "Your invoice"})

    running.result(timeout=30)
    assert sent == [("send_email", "Your invoice")]


def test_a_legacy_rejection_reaches_the_tool_as_a_response(countersign, email_type, supervisor, sent, in_background):
    @tool
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email, after review."""
        response = interrupt(
            [
                {
                    "action_request": {"action": "send_email", "args": {"to": to, "subject": subject, "body": body}},
                    "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": True, "allow_accept": True},
                    "description": None,
                }
            ]
        )[0]
        return f"{response['type']}: {response['args']}"

    agent = create_agent(script(("send_email", EMAIL)), tools=[send_email], checkpointer=InMemorySaver())
    running = in_background(email_ann, countersign, agent, "legacy-reject")

    [email] = pending_actions(1)
    email.reject(by=supervisor, reason="Wrong customer")

    result = running.result(timeout=30)
    [answer] = [m.content for m in result["messages"] if isinstance(m, ToolMessage)]
    assert answer.startswith("response: ") and "Wrong customer" in answer
    assert Action.objects.get().status == "rejected"


def test_an_async_graph_is_resumed_the_same_way(countersign, email_type, supervisor, tools, sent, in_background):
    agent = create_agent(
        script(("send_email", EMAIL)),
        tools=tools,
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True})],
        checkpointer=InMemorySaver(),
    )
    graph_run = arun(
        countersign,
        agent,
        {"messages": [{"role": "user", "content": "Email Ann"}]},
        {"configurable": {"thread_id": "async"}},
        action_names=ACTION_NAMES,
        wait_timeout=20,
    )
    running = in_background(asyncio.run, graph_run)

    [email] = pending_actions(1)
    email.approve(by=supervisor)

    assert running.result(timeout=30)["messages"][-1].content == "Done."
    assert sent == [("send_email", "Your invioce")]


class RefundState(TypedDict, total=False):
    refund: dict
    outcome: str


def refund_graph(payload_for, apply_review):
    """A plain StateGraph whose review node interrupts with a payload of its own making."""

    def review(state):
        answer = interrupt(payload_for(state["refund"]))
        return {"outcome": apply_review(answer)}

    builder = StateGraph(RefundState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=InMemorySaver())


REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}


def test_a_custom_interrupt_payload_is_mapped_to_a_proposal_and_back(
    countersign, refund_type, supervisor, in_background
):
    graph = refund_graph(
        lambda refund: {"kind": "refund_review", "refund": refund, "note": "Please check"},
        lambda answer: f"refunded {answer['refund']['amount']}" if answer["ok"] else f"not refunded: {answer['why']}",
    )
    refund_review = Mapping(
        calls=lambda v: [("payments.refund", v["refund"])] if v.get("kind") == "refund_review" else None,
        resume=lambda v, decisions: {
            "ok": decisions[0].approved,
            "refund": decisions[0].args,
            "why": decisions[0].message,
        },
    )
    running = in_background(
        run,
        countersign,
        graph,
        {"refund": REFUND},
        {"configurable": {"thread_id": "custom"}},
        mappings=[refund_review],
        wait_timeout=20,
    )

    [action] = pending_actions(1)
    assert (action.action_type.key, action.params) == ("payments.refund", REFUND)
    action.approve(by=supervisor, params={**REFUND, "amount": 500})

    assert running.result(timeout=30)["outcome"] == "refunded 500"


def test_the_generic_mapping_answers_a_payload_that_names_its_call(countersign, email_type, supervisor, in_background):
    graph = refund_graph(
        lambda refund: {"action": "email.send", "args": EMAIL, "message": "Send this?"},
        lambda answer: answer,
    )
    running = in_background(
        run,
        countersign,
        graph,
        {"refund": REFUND},
        {"configurable": {"thread_id": "generic"}},
        mappings=[generic],
        wait_timeout=20,
    )

    pending_actions(1)[0].reject(by=supervisor, reason="Ann has it already")

    outcome = running.result(timeout=30)["outcome"]
    assert outcome["type"] == "reject" and outcome["approved"] is False and outcome["args"] is None
    assert "Ann has it already" in outcome["message"]


def test_the_generic_mapping_resumes_an_edited_tool_call_with_the_reviewers_arguments(
    countersign, email_type, supervisor, in_background
):
    graph = refund_graph(
        lambda refund: {"question": "Is this right?", "tool_call": {"name": "email.send", "args": EMAIL, "id": "c1"}},
        lambda answer: answer,
    )
    running = in_background(
        run,
        countersign,
        graph,
        {"refund": REFUND},
        {"configurable": {"thread_id": "generic-edit"}},
        mappings=[generic],
        wait_timeout=20,
    )

    email = pending_actions(1)[0]
    email.approve(by=supervisor, params={**email.params, "subject": "Your invoice"})

    outcome = running.result(timeout=30)["outcome"]
    assert (outcome["type"], outcome["approved"]) == ("edit", True)
    assert outcome["args"] == {**EMAIL, "subject": "Your invoice"}


def test_a_payload_no_mapping_knows_is_refused_before_anything_is_proposed(countersign, refund_type):
    graph = refund_graph(lambda refund: {"question": "Proceed?", "details": refund}, lambda answer: answer)

    with pytest.raises(ValueError, match=r"Not a human-in-the-loop interrupt this adapter knows.*mappings="):
        run(countersign, graph, {"refund": REFUND}, {"configurable": {"thread_id": "unknown"}})
    assert not Action.objects.exists()


def refund_agent(refunded, *, fails=False, args=REFUND):
    @tool
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        if fails:
            raise RuntimeError("the payment provider is down")
        refunded.append(amount)
        return f"refunded {amount} {currency}"

    return create_agent(
        script(("refund", args)),
        tools=[refund],
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"refund": True})],
        checkpointer=InMemorySaver(),
    )


def refund_981(countersign, agent, thread, wait_timeout=20):
    return run(
        countersign,
        agent,
        {"messages": [{"role": "user", "content": "Refund order 981"}]},
        {"configurable": {"thread_id": thread}},
        action_names={"refund": "payments.refund"},
        wait_timeout=wait_timeout,
    )


def tool_results(result):
    return " | ".join(str(m.content) for m in result["messages"] if isinstance(m, ToolMessage))


def test_an_approved_call_ends_executed_with_its_output_in_the_audit_log(
    countersign, refund_type, supervisor, in_background
):
    refunded = []
    running = in_background(refund_981, countersign, refund_agent(refunded), "executed")

    pending_actions(1)[0].approve(by=supervisor)

    running.result(timeout=30)
    assert refunded == [750]
    [executed] = outcome()
    assert audited_outcome(executed)["output"] == {"result": "refunded 750.0 USD"}


def test_an_edited_call_runs_as_edited_and_the_middleware_tells_the_model(
    countersign, refund_type, supervisor, in_background
):
    refunded = []
    running = in_background(refund_981, countersign, refund_agent(refunded), "edited")

    pending_actions(1)[0].approve(by=supervisor, params={**REFUND, "amount": 500})

    said = tool_results(running.result(timeout=30))
    assert refunded == [500]
    assert "a human reviewer replaced this tool call before it ran" in said and "refunded 500.0 USD" in said
    assert outcome()[0].status == "executed"


def test_a_failing_tool_ends_failed(countersign, refund_type, supervisor, in_background):
    running = in_background(refund_981, countersign, refund_agent([], fails=True), "fails")

    pending_actions(1)[0].approve(by=supervisor)

    with pytest.raises(RuntimeError, match="the payment provider is down"):
        running.result(timeout=30)
    [failed] = outcome()
    assert "the payment provider is down" in audited_outcome(failed)["error"]


def test_an_outage_does_not_run_the_tool_and_the_model_hears_why(outage):
    refunded = []
    with outage.client() as client:
        result = refund_981(client, refund_agent(refunded, args=outage.args), "outage", outage.wait_timeout)
    assert_failed_closed(outage, tool_results(result), refunded)


def test_an_edit_the_interrupt_refuses_is_a_rejection_and_the_action_ends_failed(
    countersign, email_type, supervisor, sent, in_background
):
    @tool
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email, after a review that allows no edits."""
        request = HumanInterrupt(
            action_request=ActionRequest(action="send_email", args={"to": to, "subject": subject, "body": body}),
            config=HumanInterruptConfig(allow_ignore=True, allow_respond=True, allow_edit=False, allow_accept=True),
            description="Review the email",
        )
        response = interrupt([request])[0]
        if response["type"] != "accept":
            return f"Not sent: {response['args']}"
        sent.append(("send_email", subject))
        return "sent"

    agent = create_agent(script(("send_email", EMAIL)), tools=[send_email], checkpointer=InMemorySaver())
    running = in_background(email_ann, countersign, agent, "no-edits")

    pending_actions(1)[0].approve(by=supervisor, params={**EMAIL, "subject": "Your invoice"})

    assert "only with changes the tool does not accept" in tool_results(running.result(timeout=30))
    assert sent == []
    [failed] = outcome()
    assert failed.status == "failed" and "does not accept edits" in audited_outcome(failed)["error"]
