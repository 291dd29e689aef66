"""An MCP `tools/call` comes in the way every proposal does (approvals.services.action_propose):
the same limits on what it may hold, the same refusal record, the same per-agent rate and the
same token check as the REST API's."""

import json

import httpx

from approvals.models import Action
from audit.models import Event
from tests.gateway.conftest import mcp_client
from tests.gateway.test_tools_call import in_thread, let_run_alone, run


def nested(depth):
    value = "bottom"
    for _ in range(depth):
        value = {"down": value}
    return value


def call(gateway_url, token, arguments):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(let_run_alone, "mcp.git.git_status")
            return await client.call_tool("git__git_status", arguments)

    return run(scenario())


def test_arguments_holding_a_nul_are_refused_as_the_rest_api_refuses_them(gateway_url, token, git_upstream, api):
    result = call(gateway_url, token, {"repo_path": "/tmp/a\x00b"})

    assert result.is_error is True
    assert result.content[0].text == "Not run: Text may not contain the NUL character (\\u0000)."
    assert not Action.objects.exists()
    refused = Event.objects.get(kind="action.refused")
    # PostgreSQL cannot keep the NUL: the refusal keeps the action it named.
    assert refused.data["code"] == "unstorable_text" and refused.data["proposal"] == {"action": "mcp.git.git_status"}

    rest = api.propose(action="mcp.git.git_status", params={"repo_path": "/tmp/a\x00b"})
    assert rest.status_code == 400 and rest.json()["error"]["code"] == "unstorable_text"


def test_arguments_nested_past_the_cap_are_refused_as_the_rest_api_refuses_them(
    gateway_url, token, git_upstream, settings
):
    result = call(gateway_url, token, {"repo_path": "/tmp", "extra": nested(settings.HITL_MAX_JSON_DEPTH)})

    assert result.is_error is True
    assert result.content[0].text == f"Not run: The JSON nests deeper than {settings.HITL_MAX_JSON_DEPTH} levels."
    assert not Action.objects.exists()
    assert Event.objects.get(kind="action.refused").data["code"] == "json_too_deep"


def test_an_integer_past_i_json_is_refused_as_the_rest_api_refuses_it(gateway_url, token, git_upstream):
    result = call(gateway_url, token, {"repo_path": "/tmp", "count": 2**60})

    assert result.is_error is True and "out of range" in result.content[0].text
    assert not Action.objects.exists()


def mcp_post(gateway_url, token):
    return httpx.post(
        f"{gateway_url}/mcp/",
        content=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )


def test_the_per_agent_rate_limit_applies_to_mcp_requests(gateway_url, token, settings):
    settings.HITL_AGENT_RATE_LIMIT = (3, 60)

    answers = [mcp_post(gateway_url, token) for _ in range(5)]

    assert [answer.status_code == 429 for answer in answers] == [False, False, False, True, True]
    over = answers[-1]
    assert over.headers["Retry-After"] == "60"
    assert over.json()["error"] == {
        "code": "rate_limited",
        "message": "This agent is over its limit of 3 requests per 60 seconds.",
    }


def test_a_revoked_token_is_refused_at_once_as_the_rest_api_refuses_it(gateway_url, token, agent, api):
    """The token goes through the policies cache, which a revocation invalidates."""
    assert mcp_post(gateway_url, token).status_code != 401
    agent.tokens.get().revoke()

    assert mcp_post(gateway_url, token).status_code == 401
    assert api.get("/action-types").status_code == 401

