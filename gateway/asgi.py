"""The MCP endpoint as an ASGI app: streamable HTTP at `/mcp/`, every request carrying an agent's
bearer token. `hitl_site.asgi` routes `/mcp/` here and everything else to Django.

The SDK's session manager serves the protocol (2026's per-request era, and the 2025 revisions
without a session of its own) and must run inside the ASGI lifespan, so this app also answers
`lifespan`. No state lives in one process: a 2025 client's `Mcp-Session-Id` is a row in
PostgreSQL (`ClientSession`), issued here on `initialize`, checked on every request, ended by
DELETE, and belongs to the agent whose token opened it; so any web process answers any request.
The body is read here first, so that a batch or a body that is not a request is refused in one
line, and a 2025 `notifications/cancelled` withdraws the held call it names wherever that waits.
"""

import asyncio
import json
import re

from django.conf import settings
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from approvals.agent_auth import RateLimited, agent_for_authorization
from gateway import calls
from gateway.models import ClientSession
from gateway.server import RUN_HEADER, create_server
from hitl_lib.dbthreads import close_database, database
from identity import access_tokens
from policies.cache import Policies

UNAUTHORIZED = "Send a valid agent token or OAuth access token as 'Authorization: Bearer <token>'."


async def refuse(send, status, code, message, headers):
    """An error answer in the agent API's shape, with `headers` beside its content type."""
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *headers]}
    )
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.body", "body": body})


NOT_ONE_REQUEST = "Invalid Request: send one JSON-RPC request or notification object per POST (no batch, no response)."
RUN_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


def rpc_error(code, message):
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()


async def answer(send, status, body=b"", headers=()):
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *headers]}
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive, limit):
    """The whole request body, or None past `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body, receive):
    """`receive` as the SDK expects it: the body already read, then whatever comes (a disconnect)."""
    sent = False

    async def again():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def one_request(body):
    """The decoded JSON-RPC message; "" for a body that is not JSON (the SDK answers the parse
    error); None for JSON that is not one request or notification."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return None
    return message


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
            agent, policies = await self.agent_for(scope)
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
        token = AccessToken(token="", client_id=agent.name, scopes=[], subject=str(agent.pk))
        # The policies the token was read with: a call routes by the same ones (policies/cache.py).
        scope = {
            **scope,
            "user": AuthenticatedUser(token),
            "countersign.agent": agent,
            "countersign.policies": policies,
        }
        headers = dict(scope.get("headers") or [])
        message = None
        if scope["method"] == "POST":
            body = await read_body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            if body is None:
                await answer(send, 413, rpc_error(-32600, "Request body too large."))
                return
            message = one_request(body)
            if message is None:
                await answer(send, 400, rpc_error(-32600, NOT_ONE_REQUEST))
                return
            receive = replay(body, receive)
        run = headers.get(RUN_HEADER.encode(), b"").decode("latin-1")
        if run and not RUN_ID.match(run):
            await answer(send, 400, rpc_error(-32600, f"{RUN_HEADER}: 1–200 printable ASCII characters, no spaces."))
            return
        version = headers.get(b"mcp-protocol-version", b"").decode("latin-1") or None
        if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            handled, scope, send = await self.session(scope, send, agent, headers, message or {})
            if handled:
                return
        await self.manager.handle_request(scope, receive, send)

    async def session(self, scope, send, agent, headers, message):
        """A 2025 client's session, kept in PostgreSQL: (answered, scope, send)."""
        session_id = headers.get(b"mcp-session-id", b"").decode("latin-1")
        if not session_id:
            if message.get("method") == "initialize":
                requested = str((message.get("params") or {}).get("protocolVersion", ""))
                send = issuing_session(send, agent, requested)
            elif scope["method"] == "GET":
                await answer(send, 405, headers=[(b"allow", b"POST")])
                return True, scope, send
            return False, scope, send
        if not await database(calls.session_of, agent, session_id):
            await answer(send, 404, rpc_error(-32001, "Session not found"))
            return True, scope, send
        if scope["method"] == "DELETE":
            await database(calls.end_session, agent, session_id)
            await answer(send, 200)
            return True, scope, send
        if scope["method"] == "GET":
            # No stream outside a request: the gateway sends nothing unasked (405, as the spec allows).
            await answer(send, 405, headers=[(b"allow", b"POST, DELETE")])
            return True, scope, send
        if message.get("method") == "notifications/cancelled":
            request_id = (message.get("params") or {}).get("requestId")
            await database(calls.cancel_by_request, agent, f"mcp:{session_id}:{request_id}"[:255])
        return False, {**scope, "countersign.session": session_id}, send

    async def agent_for(self, scope):
        """(agent or None, the policies read to find it)."""
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        return await database(authorized, header)

    async def lifespan(self, receive, send):
        await receive()  # lifespan.startup
        # Stateless: the SDK keeps no session in this process; `session()` above keeps them for all.
        manager = StreamableHTTPSessionManager(
            app=create_server(), stateless=True, max_request_body_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE
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


def authorized(header):
    policies = Policies.current()
    return agent_for_authorization(header, policies), policies


def issuing_session(send, agent, protocol_version):
    """`send` that gives a successful `initialize` answer a new session, stored before it is sent."""

    async def sending(message):
        if message["type"] == "http.response.start" and message["status"] == 200:
            session = await database(ClientSession.open, agent=agent, protocol_version=protocol_version)
            message = {**message, "headers": [*message.get("headers", []), (b"mcp-session-id", session.id.encode())]}
        await send(message)

    return sending
