"""A `tools/call` through the gateway, driven by the SDK's own client: listed, proposed, routed,
forwarded when approved and answered with isError when not."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connections
from django.test import Client
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType, InvalidProposal
from tests.conftest import pending_action
from tests.gateway.conftest import git_log, mcp_client


def run(coroutine):
    """Run the agent's side to its end, on an event loop of its own thread: a browser test's
    Playwright may have left one running in this thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def in_thread(function, *args):
    """Test code that uses the ORM, run beside the client in a thread whose connection is closed after."""

    def run_and_close():
        try:
            return function(*args)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run_and_close)


def let_run_alone(key):
    ActionType.objects.filter(key=key).update(status="active", autonomy="autonomous", first_use_threshold=0)


def test_the_client_sees_the_upstream_tools_namespaced_and_each_is_an_action_type(gateway_url, token, git_upstream):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(scenario())}

    assert {"git__git_status", "git__git_commit", "git__git_reset"} <= set(tools)
    assert tools["git__git_commit"].input_schema["required"] == ["repo_path", "message"]
    commit = ActionType.objects.get(key="mcp.git.git_commit")
    assert (commit.status, commit.autonomy, commit.irreversible) == ("draft", "confirm", False)
    assert commit.params_schema == tools["git__git_commit"].input_schema
    assert ActionType.objects.get(key="mcp.git.git_reset").irreversible is True
    assert Event.objects.filter(kind="policy.changed", action_type="mcp.git.git_reset").exists()


def test_an_autonomous_call_returns_the_upstream_result_and_records_it(gateway_url, token, git_upstream, repo):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(let_run_alone, "mcp.git.git_status")
            return await client.call_tool("git__git_status", {"repo_path": str(repo)})

    result = run(scenario())

    assert result.is_error is False
    assert "Changes to be committed" in result.content[0].text
    action = Action.objects.get(action_type__key="mcp.git.git_status")
    assert action.status == "executed"
    assert action.outcome["output"]["content"][0]["text"] == result.content[0].text


def test_a_bad_token_is_refused(gateway_url, git_upstream):
    response = httpx.post(
        gateway_url + "/mcp/",
        headers={"Authorization": "Bearer cs_wrong", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def decide(user, path, data):
    client = Client()
    client.force_login(user)
    response = client.post(path, data)
    assert response.status_code in (200, 302), response.content


def test_a_held_commit_runs_with_the_message_the_supervisor_edited(gateway_url, token, git_upstream, repo, supervisor):
    def allow_editing_the_message():
        ActionType.objects.filter(key="mcp.git.git_commit").update(editable_params=["message"])

    def approve_with_a_better_message():
        action = pending_action("mcp.git.git_commit", timeout=60)
        decide(supervisor, f"/actions/{action.pk}/approve", {"edited": "1", "message": "Say hello to the world"})

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(allow_editing_the_message)
            call = asyncio.create_task(client.call_tool("git__git_commit", {"repo_path": str(repo), "message": "wip"}))
            await in_thread(approve_with_a_better_message)
            return await call

    result = run(scenario())

    assert result.is_error is False
    assert git_log(repo).splitlines()[0] == "Say hello to the world"
    action = Action.objects.get(action_type__key="mcp.git.git_commit")
    assert action.status == "executed"
    assert action.final_params["message"] == "Say hello to the world"
    assert Event.objects.filter(kind="action.executed", action_id=action.pk).exists()


def test_a_rejection_reaches_the_client_as_an_error_with_the_reason(gateway_url, token, git_upstream, repo, supervisor):
    def reject():
        action = pending_action("mcp.git.git_reset", timeout=60)
        decide(supervisor, f"/actions/{action.pk}/reject", {"reason": "Keep the staged change for review"})

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            call = asyncio.create_task(client.call_tool("git__git_reset", {"repo_path": str(repo)}))
            await in_thread(reject)
            return await call

    result = run(scenario())

    assert result.is_error is True
    assert result.content[0].text == "Not run: sue rejected this call: Keep the staged change for review"
    assert (
        "Changes to be committed"
        in subprocess.run(["git", "status"], cwd=repo, capture_output=True, text=True, check=True).stdout
    )
    assert Action.objects.get(action_type__key="mcp.git.git_reset").status == "rejected"


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026: the stream closes; 2025: notifications/cancelled
def test_a_cancelled_request_cancels_its_action(gateway_url, token, git_upstream, repo, mode):
    async def scenario():
        async with mcp_client(gateway_url, token, mode=mode) as client:
            await client.list_tools()
            call = asyncio.create_task(client.call_tool("git__git_reset", {"repo_path": str(repo)}))
            await in_thread(pending_action, "mcp.git.git_reset", 60)
            call.cancel()  # the SDK sends notifications/cancelled for the request
            with contextlib.suppress(asyncio.CancelledError):
                await call
            for _ in range(1200):
                if await in_thread(lambda: Action.objects.get(action_type__key="mcp.git.git_reset").status)\
                        != "pending":  # fmt: skip
                    return
                await asyncio.sleep(0.05)

    run(scenario())

    action = Action.objects.get(action_type__key="mcp.git.git_reset")
    assert action.status == "cancelled"
    why = "its MCP client cancelled the tools/call request while the call waited for a decision"
    assert action.outcome == {"status": "cancelled", "by": "billing-agent", "reason": why}
    event = Event.objects.get(kind="action.cancelled", action_id=action.pk)
    assert (event.actor_name, event.data) == ("billing-agent", {"reason": why})


def test_invalid_arguments_are_a_tool_error_the_repair_loop_counts(gateway_url, token, git_upstream, repo):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            return await client.call_tool("git__git_commit", {"repo_path": str(repo)})

    result = run(scenario())

    assert result.is_error is True
    assert "'message' is a required property" in result.content[0].text
    assert not Action.objects.exists()
    assert InvalidProposal.objects.filter(action_type__key="mcp.git.git_commit").count() == 1


def test_an_upstream_killed_mid_call_is_a_clear_error_and_a_failed_action(gateway_url, token, notes_stdio, state_dir):
    def kill_it_once_it_hangs():
        for _ in range(1200):
            if (state_dir / "hanging").exists():
                os.kill(int((state_dir / "hanging").read_text()), signal.SIGKILL)
                return
            threading.Event().wait(0.05)
        raise AssertionError("the call never reached the upstream")

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(let_run_alone, "mcp.notes.hang")
            await in_thread(let_run_alone, "mcp.notes.add_note")
            call = asyncio.create_task(client.call_tool("notes__hang", {}))
            await in_thread(kill_it_once_it_hangs)
            with pytest.raises(MCPError) as failure:
                await call
            # The next use starts the server again.
            return failure.value, await client.call_tool("notes__add_note", {"text": "after the crash"})

    error, after = run(scenario())

    assert "MCP server 'notes' closed the connection during tools/call hang" in str(error)
    assert "not retried" in str(error)
    hang = Action.objects.get(action_type__key="mcp.notes.hang")
    assert hang.status == "failed" and "closed the connection" in hang.outcome["error"]
    assert after.is_error is False
    assert (state_dir / "notes").read_text() == "after the crash\n"


def test_an_http_upstream_is_forwarded_to_once(gateway_url, token, notes_http, state_dir):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            await in_thread(let_run_alone, "mcp.notes.add_note")
            return names, await client.call_tool("notes__add_note", {"text": "one"})

    names, result = run(scenario())

    assert {"notes__add_note", "notes__hang"} <= set(names)
    assert result.content[0].text == "noted: one"
    assert (state_dir / "notes").read_text() == "one\n"
    assert Action.objects.get(action_type__key="mcp.notes.add_note").status == "executed"


def test_the_audit_log_records_the_result_redacted_while_the_client_gets_it_unchanged(gateway_url, token, notes_stdio):
    def let_run_alone_with_redaction():
        let_run_alone("mcp.notes.add_note")
        ActionType.objects.filter(key="mcp.notes.add_note").update(
            redact_paths=["params.text", "output.content.*.text", "output.structuredContent.result"]
        )

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(let_run_alone_with_redaction)
            return await client.call_tool("notes__add_note", {"text": "the door code is 4711"})

    result = run(scenario())

    assert result.is_error is False and result.content[0].text == "noted: the door code is 4711"
    action = Action.objects.get(action_type__key="mcp.notes.add_note")
    executed = Event.objects.get(kind="action.executed", action_id=action.pk)
    assert executed.data["output"]["content"][0]["text"] == "[redacted: output.content.*.text]"
    assert executed.data["output"]["structuredContent"]["result"] == "[redacted: output.structuredContent.result]"
    assert not any("4711" in json.dumps(event.data) for event in Event.objects.filter(action_id=action.pk))
    # Redaction keeps secrets out of the append-only log; the action itself, which retention may
    # delete, keeps what the upstream answered, as it keeps its parameters.
    assert action.status == "executed" and action.outcome["output"]["content"][0]["text"] == result.content[0].text


def test_only_tools_pass_through_resources_and_prompts_are_withheld(gateway_url, token, notes_stdio):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            capabilities = client.server_capabilities
            refused = []
            for request in (client.list_resources, client.list_prompts):
                with pytest.raises(MCPError) as refusal:
                    await request()
                refused.append(refusal.value.error.code)
            return capabilities, refused

    capabilities, refused = run(scenario())

    assert capabilities.tools is not None
    assert (capabilities.resources, capabilities.prompts, capabilities.completions) == (None, None, None)
    assert refused == [METHOD_NOT_FOUND, METHOD_NOT_FOUND]
