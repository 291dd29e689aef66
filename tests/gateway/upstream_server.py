"""A small MCP server of the tests' own, written with the SDK: `python upstream_server.py STATE_DIR`
serves stdio, `… STATE_DIR --port N` streamable HTTP at /mcp. Each call of `add_note` appends a
line to STATE_DIR/notes, so a test can count how often a call really ran; `hang` writes
STATE_DIR/hanging (its pid) and then never answers, so a test can kill it mid-call. Each start
appends the process's pid to STATE_DIR/started, so a test can see a server started again."""

import asyncio
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

state = Path(sys.argv[1])
with open(state / "started", "a") as started:
    started.write(f"{os.getpid()}\n")
server = MCPServer("notes")


@server.tool(description="Append a note", annotations=ToolAnnotations(destructive_hint=False, open_world_hint=False))
def add_note(text: str) -> str:
    with open(state / "notes", "a") as notes:
        notes.write(text + "\n")
    return f"noted: {text}"


@server.tool(
    description="Never answers",
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False),
)
async def hang() -> str:
    (state / "hanging").write_text(str(os.getpid()))
    await asyncio.sleep(3600)
    return "woke"


if __name__ == "__main__":
    if "--port" in sys.argv:
        port = int(sys.argv[sys.argv.index("--port") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
