"""The TypeScript SDK's client, from npm, through the gateway: a held call outlives the request
timeout the client set, kept alive by the gateway's progress notifications
(`resetTimeoutOnProgress`), and gets the upstream's result once a person approves."""

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from django.db import connections

from approvals.models import Action
from tests.gateway.conftest import HERE
from tests.gateway.test_tasks import approve

NODE_DIR = HERE.parent.parent / ".run" / "node-mcp-sdk"  # built once, like the suite's other venvs under .run/


@pytest.fixture(scope="session")
def typescript_sdk():
    # .ci/run installs node and npm; a machine without them cannot run this client at all.
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the TypeScript SDK's client")
    if not (NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").exists():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        (NODE_DIR / "package.json").write_text('{"name": "countersign-tests", "private": true, "type": "module"}')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "@modelcontextprotocol/sdk"],
            cwd=NODE_DIR,
            check=True,
            capture_output=True,
        )
    shutil.copy(HERE / "ts_client.mjs", NODE_DIR / "ts_client.mjs")
    return NODE_DIR / "ts_client.mjs"


def test_a_typescript_client_gets_the_result_of_a_call_held_past_its_request_timeout(
    typescript_sdk, gateway_url, token, notes_stdio, state_dir, supervisor, settings
):
    settings.HITL_MCP_PROGRESS_SECONDS = 0.5

    def approve_after_the_timeout():
        try:
            approve(supervisor, "mcp.notes.add_note")
        finally:
            connections.close_all()

    approver = threading.Timer(4, approve_after_the_timeout)  # the client's request timeout is 2 s
    approver.start()
    try:
        ran = subprocess.run(
            ["node", str(typescript_sdk), gateway_url, token, "notes__add_note", '{"text": "from node"}', "2000"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        approver.join()
    out = json.loads(ran.stdout.strip().splitlines()[-1])

    assert "notes__add_note" in out["tools"]
    assert out.get("error") is None, out
    assert out["result"]["content"][0]["text"] == "noted: from node"
    action = Action.objects.get(action_type__key="mcp.notes.add_note")
    assert out["heard"][0] == f"Waiting for a person to approve: {action.summary} ({action.review_url})"
    assert action.status == "executed"
    assert Path(state_dir / "notes").read_text() == "from node\n"
