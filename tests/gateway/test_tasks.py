"""A held call that outlives the client's timeout, on the 2026-07-28 protocol: a task (the Tasks
extension) for a client that declares it, `input_required` with a sealed `requestState` for one
that does not; both stored where every web process reads them."""

import asyncio
import json
import signal
import time

import httpx
import pytest

from approvals.models import Action
from gateway.models import ToolTask
from tests.conftest import pending_action
from tests.gateway.conftest import Tasks, mcp_client
from tests.gateway.test_tools_call import decide, in_thread, run

MODERN = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2026-07-28",
}
TASKS_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
}


CLIENT_INFO = {"name": "tests", "version": "1"}


@pytest.fixture
def fast_polls(settings):
    settings.HITL_MCP_POLL_INTERVAL_MS = 100


def rpc(url, token, method, params, headers=None, request_id=1):
    """One JSON-RPC request as a 2026 client posts it: (HTTP status, the decoded answer)."""
    routing = {"Mcp-Method": method}
    if "name" in params or "taskId" in params:
        routing["Mcp-Name"] = params.get("name") or params["taskId"]
    response = httpx.post(
        url + "/mcp/",
        json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        headers={**MODERN, "Authorization": f"Bearer {token}", **routing, **(headers or {})},
        timeout=60,
    )
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return response.status_code, json.loads(data[-1])
    return response.status_code, response.json()


def approve(user, key):
    action = pending_action(key, timeout=60)
    decide(user, f"/actions/{action.pk}/approve", {})


def test_a_held_call_becomes_a_task_that_completes_after_the_clients_timeout_would_have_passed(
    gateway_url, token, notes_stdio, state_dir, supervisor, fast_polls
):
    tasks = Tasks()

    async def scenario():
        async with mcp_client(gateway_url, token, extensions=[tasks]) as client:
            await client.list_tools()
            # Each request may take 2 s; the person takes longer than that to approve.
            call = asyncio.create_task(
                client.call_tool("notes__add_note", {"text": "held as a task"}, read_timeout_seconds=2)
            )
            await asyncio.sleep(3)
            await in_thread(approve, supervisor, "mcp.notes.add_note")
            return await call

    result = run(scenario())

    assert result.is_error is False and result.content[0].text == "noted: held as a task"
    assert (state_dir / "notes").read_text() == "held as a task\n"
    action = Action.objects.get(action_type__key="mcp.notes.add_note")
    assert action.status == "executed"
    handle, polls = tasks.seen[0], tasks.seen[1:]
    assert handle.status == "working" and handle.poll_interval_ms == 100
    assert handle.status_message == f"Waiting for a person to approve: {action.summary} ({action.review_url})"
    assert polls[0].status == "working" and polls[-1].status == "completed"
    task = ToolTask.objects.get()
    assert (str(task.id), task.action, task.status) == (handle.task_id, action, "completed")


def test_a_task_is_cancelled_with_tasks_cancel(gateway_url, token, notes_stdio, state_dir):
    status, answer = rpc(gateway_url, token, "tools/list", {"_meta": TASKS_META})  # registers the tools
    assert status == 200, answer
    status, answer = rpc(
        gateway_url, token, "tools/call", {"name": "notes__add_note", "arguments": {"text": "x"}, "_meta": TASKS_META}
    )
    assert answer["result"]["resultType"] == "task", answer
    task_id = answer["result"]["taskId"]

    status, answer = rpc(gateway_url, token, "tasks/cancel", {"taskId": task_id, "_meta": TASKS_META})
    assert (status, answer["result"]["resultType"]) == (200, "complete")
    status, answer = rpc(gateway_url, token, "tasks/get", {"taskId": task_id, "_meta": TASKS_META})

    assert answer["result"]["status"] == "cancelled"
    assert answer["result"]["statusMessage"].startswith("Not run: the agent billing-agent cancelled this call")
    assert Action.objects.get(action_type__key="mcp.notes.add_note").status == "cancelled"
    assert not (state_dir / "notes").exists()


def test_another_agents_task_is_not_found(gateway_url, token, notes_stdio, agent):
    from policies.models import Agent

    rpc(gateway_url, token, "tools/list", {"_meta": TASKS_META})
    _, answer = rpc(
        gateway_url, token, "tools/call", {"name": "notes__add_note", "arguments": {"text": "x"}, "_meta": TASKS_META}
    )
    other = Agent.objects.create(name="other-agent").issue_token(label="tests")

    status, answer = rpc(gateway_url, other, "tasks/get", {"taskId": answer["result"]["taskId"], "_meta": TASKS_META})

    assert answer["error"]["code"] == -32602
    assert answer["error"]["message"] == "Failed to retrieve task: Task not found or expired"
    _, answer = rpc(gateway_url, token, "tasks/get", {"taskId": "not-a-task", "_meta": TASKS_META})
    assert answer["error"]["message"] == "Failed to retrieve task: Task not found or expired"


def test_a_poll_and_a_cancel_on_other_web_processes_act_on_the_calls_action(
    web_processes, token, notes_stdio, state_dir, supervisor
):
    first, second = web_processes
    rpc(first, token, "tools/list", {"_meta": TASKS_META})

    def call(text):
        _, answer = rpc(
            first, token, "tools/call", {"name": "notes__add_note", "arguments": {"text": text}, "_meta": TASKS_META}
        )
        return answer["result"]["taskId"]

    approved, cancelled = call("approved"), call("cancelled")
    action = Action.objects.get(params={"text": "approved"})
    decide(supervisor, f"/actions/{action.pk}/approve", {})
    _, polled = rpc(second, token, "tasks/get", {"taskId": approved, "_meta": TASKS_META})
    rpc(second, token, "tasks/cancel", {"taskId": cancelled, "_meta": TASKS_META})
    _, after_cancel = rpc(first, token, "tasks/get", {"taskId": cancelled, "_meta": TASKS_META})

    assert polled["result"]["status"] == "completed"
    assert polled["result"]["result"]["content"][0]["text"] == "noted: approved"
    assert (state_dir / "notes").read_text() == "approved\n"
    assert after_cancel["result"]["status"] == "cancelled"
    assert Action.objects.get(params={"text": "cancelled"}).status == "cancelled"


def test_a_2025_session_opened_on_one_process_is_served_by_another(web_processes, token, notes_stdio):
    first, second = web_processes
    legacy = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
    opened = httpx.post(
        first + "/mcp/",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": CLIENT_INFO},
        },
        headers=legacy,
    )
    session = opened.headers["mcp-session-id"]
    in_session = {**legacy, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}

    listed = httpx.post(
        second + "/mcp/", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=in_session, timeout=60
    )
    ended = httpx.delete(second + "/mcp/", headers=in_session)
    after = httpx.post(first + "/mcp/", json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=in_session)

    assert listed.status_code == 200 and "notes__add_note" in listed.text
    assert ended.status_code == 200
    assert after.status_code == 404


def test_a_client_without_tasks_is_told_to_retry_and_its_retry_gets_the_result(
    gateway_url, token, notes_stdio, state_dir, supervisor, settings
):
    settings.HITL_MCP_HOLD_SECONDS = 0.5
    shown = []

    async def open_the_review_page(context, params):
        shown.append((params.url, params.message))
        from mcp_types import ElicitResult

        return ElicitResult(action="accept")

    async def scenario():
        async with mcp_client(
            gateway_url, token, elicitation_callback=open_the_review_page, input_required_max_rounds=1000
        ) as client:
            await client.list_tools()
            call = asyncio.create_task(client.call_tool("notes__add_note", {"text": "retried"}, read_timeout_seconds=2))
            await asyncio.sleep(1.5)  # past the first round's hold
            await in_thread(approve, supervisor, "mcp.notes.add_note")
            return await call

    result = run(scenario())

    assert result.is_error is False and result.content[0].text == "noted: retried"
    action = Action.objects.get(action_type__key="mcp.notes.add_note")
    assert shown == [(action.review_url, f"Waiting for a person to approve: {action.summary} ({action.review_url})")]
    assert Action.objects.count() == 1 and action.status == "executed"
    assert (state_dir / "notes").read_text() == "retried\n"


def input_required(gateway_url, token, arguments):
    rpc(gateway_url, token, "tools/list", {"_meta": TASKS_META | {"io.modelcontextprotocol/clientCapabilities": {}}})
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    params = {"name": "notes__add_note", "arguments": arguments, "_meta": meta}
    _, answer = rpc(gateway_url, token, "tools/call", params)
    assert answer["result"]["resultType"] == "input_required", answer
    return meta, answer["result"]["requestState"]


@pytest.mark.parametrize(
    "tamper",
    ["forged", "other arguments", "other agent"],
)
def test_a_forged_or_rebound_request_state_is_refused(gateway_url, token, notes_stdio, settings, tamper):
    from policies.models import Agent

    settings.HITL_MCP_HOLD_SECONDS = 0.1
    meta, state = input_required(gateway_url, token, {"text": "bound"})
    params = {"name": "notes__add_note", "arguments": {"text": "bound"}, "_meta": meta, "requestState": state}
    caller = token
    if tamper == "forged":
        params["requestState"] = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
    elif tamper == "other arguments":
        params["arguments"] = {"text": "something else"}
    else:
        caller = Agent.objects.create(name="other-agent").issue_token(label="tests")

    status, answer = rpc(gateway_url, caller, "tools/call", params)

    assert answer["error"] == {
        "code": -32602,
        "message": "Invalid or expired requestState",
        "data": {"reason": "invalid_request_state"},
    }
    assert Action.objects.get().status == "pending"


@pytest.fixture
def short_lived_state(settings):
    settings.HITL_MCP_STATE_TTL_SECONDS = 1
    settings.HITL_MCP_HOLD_SECONDS = 0.1


def test_an_expired_request_state_is_refused(short_lived_state, gateway_url, token, notes_stdio):
    meta, state = input_required(gateway_url, token, {"text": "late"})
    time.sleep(1.2)

    _, answer = rpc(
        gateway_url,
        token,
        "tools/call",
        {"name": "notes__add_note", "arguments": {"text": "late"}, "_meta": meta, "requestState": state},
    )

    assert answer["error"]["message"] == "Invalid or expired requestState"


def test_a_batch_or_a_body_that_is_not_a_request_is_an_invalid_request(gateway_url, token):
    headers = {**MODERN, "Authorization": f"Bearer {token}"}
    for body in ([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}], {"jsonrpc": "2.0", "id": 1, "result": {}}, 3):
        for era in ({}, {"MCP-Protocol-Version": "2025-06-18"}):
            response = httpx.post(gateway_url + "/mcp/", json=body, headers={**headers, **era})

            assert response.status_code == 400
            assert response.json() == {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": -32600,
                    "message": "Invalid Request: send one JSON-RPC request or notification object per POST "
                    "(no batch, no response).",
                },
            }


def test_a_retried_call_attaches_to_its_first_pending_action_and_runs_once(
    gateway_url, token, notes_stdio, state_dir, supervisor, settings
):
    settings.HITL_MCP_HOLD_SECONDS = 0.5

    async def scenario():
        # Rounds of at most half a second: as many as a busy machine needs before the approval.
        async with mcp_client(
            gateway_url, token, headers={"Countersign-Run-Id": "run-7"}, input_required_max_rounds=1000
        ) as client:
            await client.list_tools()
            first = asyncio.create_task(client.call_tool("notes__add_note", {"text": "once"}))
            await in_thread(pending_action, "mcp.notes.add_note", 60)
            retry = asyncio.create_task(client.call_tool("notes__add_note", {"text": "once"}))
            await asyncio.sleep(1)
            await in_thread(approve, supervisor, "mcp.notes.add_note")
            return await first, await retry

    first, retry = run(scenario())

    action = Action.objects.get()
    assert (action.session_id, action.status) == ("run-7", "executed")
    assert first.content[0].text == retry.content[0].text == "noted: once"
    assert (state_dir / "notes").read_text() == "once\n"


def test_the_repair_loop_counts_invalid_calls_within_their_run_only(gateway_url, token, notes_stdio, settings):
    settings.HITL_REPAIR_ATTEMPTS = 3
    rpc(gateway_url, token, "tools/list", {"_meta": TASKS_META})

    def call(run_id):
        params = {"name": "notes__add_note", "arguments": {"text": 5}, "_meta": TASKS_META}
        return rpc(gateway_url, token, "tools/call", params, headers={"Countersign-Run-Id": run_id})[1]["result"]

    refused = [call("run-a") for _ in range(3)]
    other_run = call("run-b")
    fourth_in_run = call("run-a")

    assert all(answer["isError"] and "do not match the tool's input schema" in answer["content"][0]["text"]
               for answer in [*refused, other_run])  # fmt: skip
    assert fourth_in_run["resultType"] == "task"
    assert Action.objects.get().session_id == "run-a"


def test_tools_are_listed_as_the_upstream_wrote_them_and_a_hung_one_as_it_last_listed(
    gateway_url, token, notes_http, git_upstream
):
    async def listing(client):
        return {tool.name: tool for tool in (await client.list_tools()).tools}

    async def scenario():
        # 2025-11-25, where tools carry `execution.taskSupport` (2026-07-28 has no such field).
        async with mcp_client(notes_http.url.removesuffix("/mcp"), token, mode="legacy") as direct:
            upstream = await listing(direct)
        async with mcp_client(gateway_url, token, mode="legacy") as client:
            before = await listing(client)
            notes_http.process.send_signal(signal.SIGSTOP)  # hung: it accepts and never answers
            try:
                during = await listing(client)
            finally:
                notes_http.process.send_signal(signal.SIGCONT)
        return upstream, before, during

    upstream, before, during = run(scenario())

    wrote = upstream["add_note"].model_dump(mode="json", by_alias=True, exclude_none=True)
    shown = before["notes__add_note"].model_dump(mode="json", by_alias=True, exclude_none=True)
    assert json.dumps(shown["inputSchema"]) == json.dumps(wrote["inputSchema"])  # key order too
    assert shown.pop("execution") == {"taskSupport": "forbidden"}
    assert shown == {**wrote, "name": "notes__add_note"}
    assert {name for name in during if name.startswith("notes__")} == {"notes__add_note", "notes__hang"}
    assert json.dumps(during["notes__add_note"].input_schema) == json.dumps(wrote["inputSchema"])
    assert "git__git_status" in during


def test_tasks_past_their_ttl_and_old_sessions_are_purged(gateway_url, token, notes_stdio, agent):
    from datetime import timedelta

    from django.utils import timezone

    from gateway.calls import purge_expired
    from gateway.models import ClientSession

    rpc(gateway_url, token, "tools/list", {"_meta": TASKS_META})
    params = {"name": "notes__add_note", "arguments": {"text": "x"}, "_meta": TASKS_META}
    task_id = rpc(gateway_url, token, "tools/call", params)[1]["result"]["taskId"]
    ClientSession.open(agent=agent, protocol_version="2025-06-18")
    later = timezone.now() + timedelta(days=8)

    assert purge_expired(now=timezone.now()) == (0, 0)
    assert purge_expired(now=later) == (1, 1)
    _, answer = rpc(gateway_url, token, "tasks/get", {"taskId": task_id, "_meta": TASKS_META})
    assert answer["error"]["message"] == "Failed to retrieve task: Task not found or expired"


def test_a_protocol_version_the_gateway_does_not_speak_is_refused_with_the_versions_it_does(gateway_url, token):
    meta = {"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}

    future = {"MCP-Protocol-Version": "2099-01-01"}

    status, answer = rpc(gateway_url, token, "tools/list", {"_meta": meta}, headers=future)

    assert status == 400
    assert "2026-07-28" in json.dumps(answer["error"])
