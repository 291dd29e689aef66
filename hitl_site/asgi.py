"""The ASGI entry: `/mcp/` is the MCP gateway's streamable HTTP endpoint, everything else Django.

Serve it with an ASGI server that runs the lifespan protocol (uvicorn does by default), which
the MCP endpoint needs for its sessions.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django_application = get_asgi_application()

from gateway.asgi import MCPApp  # noqa: E402 - needs the apps loaded by get_asgi_application()

mcp_application = MCPApp()


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await mcp_application(scope, receive, send)
    elif scope["type"] == "http" and (scope["path"] == "/mcp" or scope["path"].startswith("/mcp/")):
        await mcp_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
