"""An upstream that fails a forwarded call — hangs past its timeout, or breaks the protocol — is a
clear MCP error for the client and a `failed` action; the call is never sent again, and a stdio
server is started again on its next use. (A server killed mid-call: test_tools_call.py.)"""

import os
import sys

import pytest
from mcp.shared.exceptions import MCPError

from approvals.models import Action
from gateway.models import Upstream
from tests.gateway.conftest import HERE, mcp_client
from tests.gateway.test_tools_call import in_thread, let_run_alone, run


@pytest.fixture
def broken(transactional_db, state_dir):
    """A stdio server of the tests' own that answers every tools/call with an invalid result."""
    return Upstream.objects.create(
        name="broken", command=sys.executable, args=[str(HERE / "broken_server.py"), str(state_dir)], timeout=20
    )


def running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def starts(state_dir):
    return [int(pid) for pid in (state_dir / "started").read_text().split()]


def test_an_upstream_that_hangs_past_its_timeout_fails_the_call_and_is_started_again(
    gateway_url, token, notes_stdio, state_dir
):
    notes_stdio.timeout = 8  # time enough to start a Python server on a busy machine
    notes_stdio.save()

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(let_run_alone, "mcp.notes.hang")
            await in_thread(let_run_alone, "mcp.notes.add_note")
            with pytest.raises(MCPError) as failure:
                await client.call_tool("notes__hang", {})
            return failure.value, await client.call_tool("notes__add_note", {"text": "after the hang"})

    error, after = run(scenario())

    assert "MCP server 'notes' did not answer tools/call hang within 8 s" in str(error)
    assert "not retried" in str(error)
    hang = Action.objects.get(action_type__key="mcp.notes.hang")
    assert hang.status == "failed" and "did not answer tools/call hang within 8 s" in hang.outcome["error"]
    # The hung process was stopped and a new one answered the next call.
    hung, again = starts(state_dir)
    assert int((state_dir / "hanging").read_text()) == hung and not running(hung)
    assert after.is_error is False and after.content[0].text == "noted: after the hang"
    assert (state_dir / "notes").read_text() == "after the hang\n"


def test_an_upstream_that_breaks_the_protocol_fails_the_call_which_was_sent_once(gateway_url, token, broken, state_dir):
    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(let_run_alone, "mcp.broken.count")
            failures = []
            for _ in range(2):
                with pytest.raises(MCPError) as failure:
                    await client.call_tool("broken__count", {})
                failures.append(failure.value)
            return failures

    first, second = run(scenario())

    assert "MCP server 'broken' broke the protocol answering tools/call count" in str(first)
    assert "not retried" in str(first)
    actions = Action.objects.filter(action_type__key="mcp.broken.count")
    assert [action.status for action in actions] == ["failed", "failed"]
    assert all("broke the protocol" in action.outcome["error"] for action in actions)
    # Each call was sent once, and a server that broke the protocol is not trusted with the next.
    assert (state_dir / "count").read_text() == "called\ncalled\n"
    assert len(starts(state_dir)) == 2
