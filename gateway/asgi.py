"""The MCP endpoint as an ASGI app: streamable HTTP at `/mcp/`, every request carrying an agent's
bearer token. `hitl_site.asgi` routes `/mcp/` here and everything else to Django.

The SDK's session manager serves the protocol (both the 2025 session handshake and 2026's
per-request era) and must run inside the ASGI lifespan, so this app also answers `lifespan`.
An MCP session belongs to the agent whose token opened it: the SDK refuses it to any other.
"""

import asyncio
import json

from django.conf import settings
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from approvals.agent_auth import RateLimited, agent_for_authorization
from gateway.server import create_server
from hitl_lib.dbthreads import close_database, database
from identity import access_tokens

UNAUTHORIZED = "Send a valid agent token or OAuth access token as 'Authorization: Bearer <token>'."


async def refuse(send, status, code, message, headers):
    """An error answer in the agent API's shape, with `headers` beside its content type."""
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *headers]}
    )
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.body", "body": body})


class MCPApp:
    def __init__(self):
        self.manager = None  # one per lifespan: the SDK's manager runs only once

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if self.manager is None:
            raise RuntimeError("The MCP endpoint needs an ASGI server that runs the lifespan protocol.")
        try:
            agent = await self.agent_for(scope)
        except RateLimited as over:
            await refuse(send, 429, "rate_limited", str(over), [(b"retry-after", str(over.retry_after).encode())])
            return
        except access_tokens.InvalidAccessToken as refused:
            challenge = [(b"www-authenticate", refused.www_authenticate().encode("latin-1"))]
            await refuse(send, refused.status, refused.error, refused.description, challenge)
            return
        if agent is None:
            # RFC 9728: the challenge names the resource metadata, so OAuth-only clients find a token.
            challenge = [(b"www-authenticate", access_tokens.www_authenticate().encode("latin-1"))]
            await refuse(send, 401, "unauthorized", UNAUTHORIZED, challenge)
            return
        # The SDK ties each MCP session to the principal that opened it; the handlers read the agent.
        token = AccessToken(token="", client_id=agent.name, scopes=[], subject=str(agent.pk))
        scope = {**scope, "user": AuthenticatedUser(token), "countersign.agent": agent}
        await self.manager.handle_request(scope, receive, send)

    async def agent_for(self, scope):
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        return await database(agent_for_authorization, header)

    async def lifespan(self, receive, send):
        await receive()  # lifespan.startup
        manager = StreamableHTTPSessionManager(
            app=create_server(), max_request_body_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        started = False
        try:
            async with manager.run():
                self.manager, started = manager, True
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        except Exception as error:
            await send({"type": f"lifespan.{'shutdown' if started else 'startup'}.failed", "message": str(error)})
            return
        finally:
            self.manager = None
            await asyncio.to_thread(close_database)
        await send({"type": "lifespan.shutdown.complete"})
