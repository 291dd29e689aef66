"""A held MCP call on a web process that stops (`hitl_lib.readiness`, as SIGTERM sets it in
`hitl_site.worker`) is handed back, never withdrawn: a 2025 client is told to call again and its
retry waits on the same action; a 2026 client gets `input_required` at once, whose retry goes on
with the same action on any process."""

import asyncio
import threading

from approvals.models import Action
from approvals.waiting import listener
from tests.conftest import pending_action
from tests.gateway.conftest import mcp_client
from tests.gateway.test_tasks import TASKS_META, rpc
from tests.gateway.test_tools_call import decide, in_thread, run
from tests.scale.test_draining import until


def test_a_held_2025_call_is_told_to_call_again_and_its_retry_waits_on_the_same_action(
    gateway_url, token, notes_stdio, state_dir, supervisor, stopping_process
):

    async def scenario():
        async with mcp_client(gateway_url, token, mode="legacy") as client:
            await client.list_tools()
            call = asyncio.create_task(client.call_tool("notes__add_note", {"text": "across a restart"}))
            await in_thread(pending_action, "mcp.notes.add_note")
            await in_thread(until, lambda: listener.waiting() >= 1)
            stopping_process.release()
            released = await asyncio.wait_for(call, 30)
            # Another process takes the retry; here, the same one made ready again.
            stopping_process._draining.clear()
            stopping_process._released.clear()
            retry = asyncio.create_task(client.call_tool("notes__add_note", {"text": "across a restart"}))
            await in_thread(until, lambda: listener.waiting() >= 1)
            action = await in_thread(pending_action, "mcp.notes.add_note")
            await in_thread(decide, supervisor, f"/actions/{action.pk}/approve", {})
            return released, await asyncio.wait_for(retry, 30)

    released, result = run(scenario())

    assert released.is_error is True
    assert "Call the tool again with the same arguments" in released.content[0].text
    assert result.is_error is False and result.content[0].text == "noted: across a restart"
    assert Action.objects.count() == 1 and Action.objects.get().status == "executed"
    assert (state_dir / "notes").read_text() == "across a restart\n"


def test_a_held_2026_call_is_answered_input_required_at_once_when_the_process_stops(
    gateway_url, token, notes_stdio, settings, stopping_process
):

    settings.HITL_MCP_HOLD_SECONDS = 50
    rpc(gateway_url, token, "tools/list", {"_meta": TASKS_META | {"io.modelcontextprotocol/clientCapabilities": {}}})
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    params = {"name": "notes__add_note", "arguments": {"text": "x"}, "_meta": meta}
    answers = []
    call = threading.Thread(target=lambda: answers.append(rpc(gateway_url, token, "tools/call", params)))
    call.start()
    until(lambda: listener.waiting() >= 1)

    stopping_process.release()
    call.join(10)

    status, answer = answers[0]
    assert status == 200 and answer["result"]["resultType"] == "input_required"
    assert answer["result"]["requestState"]
    assert Action.objects.get().status == "pending"  # held for the retry, not withdrawn
