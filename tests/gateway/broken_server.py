"""An MCP server that breaks the protocol, as hand-written servers do: `python broken_server.py
STATE_DIR` speaks JSON-RPC over stdio without the SDK (which would not let a server break it),
lists one tool, `count`, and answers each call of it with a result whose `content` is not a list.
Each call appends a line to STATE_DIR/count, so a test can see how often it was sent; each start
appends the pid to STATE_DIR/started."""

import json
import os
import sys
from pathlib import Path

state = Path(sys.argv[1])
with open(state / "started", "a") as started:
    started.write(f"{os.getpid()}\n")
COUNT = {
    "name": "count",
    "description": "Counts, then answers with a result MCP does not allow",
    "inputSchema": {"type": "object"},
    "annotations": {"destructiveHint": False, "openWorldHint": False},
}


def answer(request):
    method = request.get("method")
    if method == "initialize":
        return {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "broken", "version": "1"},
        }
    if method == "tools/list":
        return {"tools": [COUNT]}
    if method == "tools/call":
        with open(state / "count", "a") as calls:
            calls.write("called\n")
        return {"content": "not a list"}
    return None


for line in sys.stdin:
    request = json.loads(line)
    if "id" not in request:
        continue  # a notification
    result = answer(request)
    if result is None:  # server/discover and the rest: the client falls back to initialize
        reply = {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "Method not found"}}
    else:
        reply = {"jsonrpc": "2.0", "id": request["id"], "result": result}
    print(json.dumps(reply), flush=True)
