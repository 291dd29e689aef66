"""The ASGI entry: `/mcp/` is the MCP gateway's streamable HTTP endpoint, an agent's `/wait` is
`hitl_site.long_poll`'s (Django's for what it does not answer), everything else Django.

Serve it with an ASGI server that runs the lifespan protocol (uvicorn does by default), which
the MCP endpoint needs for its sessions.
"""

import os
import re

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django.setup(set_prefix=False)  # as get_asgi_application() does

from gateway.asgi import MCPApp  # noqa: E402 - needs the apps loaded
from hitl_site.long_poll import LongPoll  # noqa: E402

# The agent API's long-poll: `GET /api/v1/actions/{id}/wait`.
WAITING = re.compile(r"^/api/v1/actions/[^/]+/wait$")


django_application = ASGIHandler()
long_poll_application = LongPoll(django_application)
mcp_application = MCPApp()


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await mcp_application(scope, receive, send)
    elif scope["type"] == "http" and (scope["path"] == "/mcp" or scope["path"].startswith("/mcp/")):
        await mcp_application(scope, receive, send)
    elif scope["type"] == "http" and WAITING.match(scope["path"]):
        await long_poll_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
