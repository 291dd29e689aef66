"""`countersign-mcp`, for MCP clients that can only launch a command: the SDK's client talks to it
over stdio, and it relays to the gateway's `/mcp/` with the token from its environment."""

import os
import subprocess

from mcp import Client, StdioServerParameters

from approvals.models import Action
from tests.gateway.conftest import BIN
from tests.gateway.test_tools_call import in_thread, let_run_alone, run


def relay(url, token):
    return StdioServerParameters(
        command=str(BIN / "countersign-mcp"), env={"COUNTERSIGN_URL": url, "COUNTERSIGN_TOKEN": token}
    )


def test_a_stdio_client_lists_and_calls_tools_through_the_relay(gateway_url, token, notes_stdio, state_dir):
    async def scenario():
        async with Client(relay(gateway_url, token)) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            await in_thread(let_run_alone, "mcp.notes.add_note")
            await client.call_tool("notes__add_note", {"text": "first"})
            return names, await client.call_tool("notes__add_note", {"text": "via stdio"})

    names, result = run(scenario())

    assert "notes__add_note" in names
    assert result.content[0].text == "noted: via stdio"
    assert (state_dir / "notes").read_text() == "first\nvia stdio\n"
    actions = Action.objects.filter(action_type__key="mcp.notes.add_note")
    assert {action.agent.name for action in actions} == {"billing-agent"}
    # One run: the relay names it (Countersign-Run-Id), the same for both calls.
    assert len({action.session_id for action in actions}) == 1
    assert actions[0].session_id.startswith("countersign-mcp-")


def test_the_relay_with_a_bad_token_says_so_and_exits(gateway_url, notes_stdio):
    relayed = subprocess.run(
        [BIN / "countersign-mcp"],
        env={**os.environ, "COUNTERSIGN_URL": gateway_url, "COUNTERSIGN_TOKEN": "cs_wrong"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )

    assert relayed.returncode == 1
    assert f"{gateway_url}/mcp/ refused the token in COUNTERSIGN_TOKEN (401)" in relayed.stderr
