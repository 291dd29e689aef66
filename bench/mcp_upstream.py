"""The bench's own MCP server, written with the SDK, over streamable HTTP:
`python -m bench.mcp_upstream PORT` serves it at http://127.0.0.1:PORT/mcp.

`lookup` answers at once (the autonomous call whose gateway overhead is measured); `update` is
what the held calls ask for (it only says what it would have changed)."""

import sys

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("bench")


# destructive_hint=False as well: the gateway takes read_only_hint as a hint, never as "reversible".
@server.tool(
    description="Look a record up",
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False),
)
def lookup(query: str) -> str:
    return f"found: {query}"


@server.tool(description="Change a record", annotations=ToolAnnotations(destructive_hint=False, open_world_hint=False))
def update(record: str, value: str) -> str:
    return f"updated {record} to {value}"


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
