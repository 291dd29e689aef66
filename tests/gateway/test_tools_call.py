"""A `tools/call` through the gateway, driven by the SDK's own client: listed, proposed, routed,
forwarded when approved and answered with isError when not."""

import asyncio

import httpx

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType
from tests.gateway.conftest import mcp_client


def run(coroutine):
    return asyncio.run(coroutine)


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
            await asyncio.to_thread(let_run_alone, "mcp.git.git_status")
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
