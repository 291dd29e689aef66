"""The gateway's MCP server: MCP clients see the upstream servers' tools, namespaced, and each
`tools/call` is proposed as an action of the tool's type and forwarded only once approved.

Built on the SDK's low-level `Server` rather than MCPServer (FastMCP): the tools are not Python
functions but whatever the upstreams list at the moment, and an upstream's `CallToolResult` must
reach the client as it came, which the high-level server would wrap again.
"""

import asyncio
import contextlib
import logging

from django.conf import settings
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, ListToolsResult, TextContent, Tool

from approvals.models import Action
from approvals.services import InFlight, KeyReused
from approvals.waiting import wait_until
from gateway import calls
from gateway.upstream import Sessions, UpstreamError
from hitl_lib.dbthreads import database
from policies.routing import Refusal

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Countersign gates these tools: each call is checked against its policy, may wait for a person to approve "
    "it (possibly with edited arguments), and is run on the upstream server only once approved. A call that was "
    "not run answers with isError and says why."
)


@contextlib.asynccontextmanager
async def lifespan(server):
    """This process's upstream sessions, for as long as the server runs."""
    sessions = Sessions()
    try:
        yield {"sessions": sessions}
    finally:
        await sessions.close_all()


def create_server():
    return Server(
        "countersign",
        version="1",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        # Countersign checks arguments itself (the schema checker and its repair loop); without
        # this, the SDK would list every upstream's tools again to check Mcp-Param headers.
        get_tool_input_schema=lambda name: None,
    )


def agent_of(ctx):
    """The agent whose bearer token this request carried (set by `gateway.asgi`)."""
    return ctx.request.scope["countersign.agent"]


def session_id_of(ctx):
    return ctx.request.headers.get("mcp-session-id", "") if ctx.request is not None else ""


async def list_tools(ctx, params):
    sessions = ctx.lifespan_context["sessions"]
    upstreams = await database(calls.enabled_upstreams)
    listings = await asyncio.gather(*(listed(sessions, upstream) for upstream in upstreams))
    return ListToolsResult(tools=[tool for listing in listings for tool in listing])


async def listed(sessions, upstream):
    """The upstream's tools as clients see them; none, logged, when it cannot list them, so that
    one broken server does not hide the others."""
    try:
        tools = await sessions.for_spec(upstream.connection_spec()).list_tools()
    except UpstreamError as error:
        log.warning("%s; its tools are not offered", error)
        return []
    registered = await database(upstream.register_listing, tools)
    return [as_mcp_tool(tool, action_type) for tool, action_type in registered]


def as_mcp_tool(tool, action_type):
    """The tool as the upstream described it, under its namespaced name, with the input schema
    Countersign checks calls against (the one reviewers approve)."""
    return Tool(
        name=tool.namespaced_name,
        title=tool.title or None,
        description=tool.description or None,
        input_schema=action_type.params_schema or tool.input_schema,
        output_schema=tool.output_schema,
        annotations=tool.annotations or None,
    )


async def call_tool(ctx, params):
    sessions = ctx.lifespan_context["sessions"]
    session_id = session_id_of(ctx)
    # A request re-delivered on the same MCP session finds its first action rather than a second.
    key = f"mcp:{session_id}:{ctx.request_id}"[:255] if session_id and ctx.request_id is not None else None

    def propose():
        return database(
            calls.propose,
            agent=agent_of(ctx),
            name=params.name,
            arguments=params.arguments or {},
            session_id=session_id,
            idempotency_key=key,
        )

    try:
        upstream, tool, action, created = await propose()
        if upstream is not None and tool is None:
            await listed(sessions, upstream)  # a tool listed since: register it before refusing the call
            upstream, tool, action, created = await propose()
    except Refusal as refusal:
        return not_run(refused_text(refusal))
    except (InFlight, KeyReused):
        raise MCPError(code=INVALID_PARAMS, message="This request id was already used on this session.") from None
    if tool is None:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")
    if not created:
        raise MCPError(code=INVALID_PARAMS, message=f"This request was already handled as action {action.pk}.")
    if action.status == Action.Status.PENDING:
        action = await held(ctx, action)
    if action.status != Action.Status.APPROVED:
        return not_run(await database(calls.not_run_text, action))
    return await forward(ctx, sessions, upstream, tool, action)


async def held(ctx, action):
    """Hold the call while a person decides, telling the client why it waits; a client that cancels
    the request (or goes away) withdraws the action."""
    reporter = asyncio.create_task(report_waiting(ctx, action))
    try:
        return await await_decision(action)
    except asyncio.CancelledError:
        await asyncio.shield(database(calls.cancel_if_pending, action.pk))
        raise
    finally:
        reporter.cancel()


async def await_decision(action):
    """Wait until `action` leaves `pending` and return it as it is then: approved (with its final
    parameters), rejected, expired or cancelled. Waits as long as it takes; the action's SLA and
    timeout fallback bound it. A coroutine woken by the process's one LISTEN connection
    (`approvals.waiting`): no thread and no database connection is held while it waits."""
    return await wait_until(action.pk, None, done=lambda now: now.status != Action.Status.PENDING)


async def report_waiting(ctx, action):
    """MCP progress notifications while a call is held (only where the client asked for progress)."""
    waited = 0
    message = f"Waiting for a person to approve: {action.summary} ({action.review_url})"
    while True:
        await ctx.session.report_progress(waited, None, message)
        await asyncio.sleep(settings.HITL_MCP_PROGRESS_SECONDS)
        waited += settings.HITL_MCP_PROGRESS_SECONDS


async def forward(ctx, sessions, upstream, tool, action):
    """Run the approved call upstream with its final arguments, once, and return the upstream's
    result as it came; record it as the action's outcome."""

    async def progress(done, total, message):
        await ctx.session.report_progress(done, total, message)

    session = sessions.for_spec(upstream.connection_spec())
    try:
        result = await session.call_tool(tool.name, action.final_params, progress=progress)
    except UpstreamError as error:
        await database(calls.record_failure, action, error)
        raise MCPError(
            code=INTERNAL_ERROR, message=f"{error}. The call was not retried; action {action.pk} is recorded as failed."
        ) from None
    except asyncio.CancelledError:
        failure = "the MCP client cancelled the call while the upstream server ran it; it may or may not have run"
        await asyncio.shield(database(calls.record_failure, action, failure))
        raise
    if await database(calls.record_result, action, result) is not None:
        return await reviewed(action)
    return result


async def reviewed(action):
    """The upstream's result held for a person (approvals/models/output_review.py): as released, maybe
    redacted, or isError saying it was withheld and why. Waits as the decision does: woken, no thread."""
    state = await wait_until(action.pk, None, done=calls.output_decided, shape=calls.output_state)
    if state["output_review"]["status"] == "withheld":
        return not_run(f"Not given to you: a person withheld this tool's output: {state['output_review']['note']}")
    return CallToolResult.model_validate(state["outcome"]["output"])


def not_run(text):
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def refused_text(refusal):
    if refusal.code == "params_invalid":
        problems = "; ".join(f"{error['path']}: {error['message']}" for error in refusal.details)
        return f"Not run: the arguments do not match the tool's input schema ({problems}). Fix them and call again."
    return f"Not run: {refusal.message}"
