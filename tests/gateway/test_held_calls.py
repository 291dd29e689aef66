"""A `tools/call` held for a person: the client hears progress while it waits, and a call that ends
without an approval — the timeout fallback, the agent cancelling it — answers with isError saying
it was not run, by whom and why."""

import asyncio
from datetime import timedelta

import httpx
import pytest

from approvals import escalation
from approvals.models import Action
from policies.models import ActionType
from tests.conftest import pending_action
from tests.gateway.conftest import mcp_client
from tests.gateway.test_tools_call import decide, in_thread, run


def test_a_2025_client_hears_progress_while_its_call_is_held(gateway_url, token, notes_stdio, state_dir, supervisor,
                                                            settings):  # fmt: skip
    settings.HITL_MCP_PROGRESS_SECONDS = 0.2
    heard = []

    def approve():
        action = pending_action("mcp.notes.add_note")
        decide(supervisor, f"/actions/{action.pk}/approve", {})

    async def scenario():
        waiting = asyncio.Event()

        async def progress(done, total, message):
            heard.append(message)
            waiting.set()

        async with mcp_client(gateway_url, token, mode="legacy") as client:
            await client.list_tools()
            call = asyncio.create_task(
                client.call_tool("notes__add_note", {"text": "held"}, progress_callback=progress)
            )
            await asyncio.wait_for(waiting.wait(), 60)
            heard_before_the_decision = list(heard)
            await in_thread(approve)
            return heard_before_the_decision, await call

    before, result = run(scenario())

    action = Action.objects.get(action_type__key="mcp.notes.add_note")
    assert before[0] == f"Waiting for a person to approve: {action.summary} ({action.review_url})"
    assert result.is_error is False and result.content[0].text == "noted: held"
    assert action.status == "executed"


def hold_until_the_fallback(gateway_url, token, fallback):
    """Call `add_note` with the given timeout fallback, and let its SLA pass with nobody deciding."""

    def use_the_fallback():
        ActionType.objects.filter(key="mcp.notes.add_note").update(timeout_fallback=fallback)

    def nobody_decides_in_time():
        action = pending_action("mcp.notes.add_note")
        escalation.sweep(now=action.due_at + timedelta(seconds=1))

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(use_the_fallback)
            call = asyncio.create_task(client.call_tool("notes__add_note", {"text": "too late"}))
            await in_thread(nobody_decides_in_time)
            return await call

    return run(scenario())


@pytest.mark.parametrize(("fallback", "verdict"), [("expire", "expired"), ("reject", "rejected")])
def test_a_call_nobody_decides_in_time_says_the_timeout_fallback_stopped_it(
    gateway_url, token, notes_stdio, state_dir, fallback, verdict
):
    result = hold_until_the_fallback(gateway_url, token, fallback)

    assert result.is_error is True
    assert result.content[0].text == (
        f"Not run: the SLA's timeout fallback {verdict} this call: No decision within the SLA and its escalation tiers."
    )
    assert Action.objects.get(action_type__key="mcp.notes.add_note").status == verdict
    assert not (state_dir / "notes").exists()


def test_a_call_the_timeout_fallback_approves_is_forwarded(gateway_url, token, notes_stdio, state_dir):
    result = hold_until_the_fallback(gateway_url, token, "approve")

    assert result.is_error is False and result.content[0].text == "noted: too late"
    assert Action.objects.get(action_type__key="mcp.notes.add_note").status == "executed"
    assert (state_dir / "notes").read_text() == "too late\n"


def test_a_held_call_the_agent_cancels_through_the_api_says_who_cancelled_it(
    gateway_url, token, notes_stdio, state_dir
):
    def cancel_through_the_api():
        action = pending_action("mcp.notes.add_note")
        response = httpx.post(
            f"{gateway_url}/api/v1/actions/{action.pk}/cancel", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            call = asyncio.create_task(client.call_tool("notes__add_note", {"text": "never mind"}))
            await in_thread(cancel_through_the_api)
            return await call

    result = run(scenario())

    assert result.is_error is True
    assert result.content[0].text == (
        "Not run: the agent billing-agent cancelled this call through Countersign's API while it waited for a decision."
    )
    assert Action.objects.get(action_type__key="mcp.notes.add_note").status == "cancelled"
    assert not (state_dir / "notes").exists()
