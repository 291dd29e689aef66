"""The gateway's MCP server: MCP clients see the upstream servers' tools, namespaced, and each
`tools/call` is proposed as an action of the tool's type and forwarded only once approved.

Built on the SDK's low-level `Server` rather than MCPServer (FastMCP): the tools are not Python
functions but whatever the upstreams list at the moment, and an upstream's `CallToolResult` must
reach the client as it came, which the high-level server would wrap again.
"""

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from mcp.server.lowlevel import Server
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolResult,
    CancelTaskRequestParams,
    GetTaskRequestParams,
    ListToolsResult,
    TextContent,
    Tool,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from approvals.models import Action
from approvals.services import InFlight, KeyReused
from approvals.waiting import wait_until
from gateway import calls
from gateway.upstream import Sessions, UpstreamError
from hitl_lib import readiness
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


TASKS = "io.modelcontextprotocol/tasks"  # the Tasks extension (SEP-2663), as 2026-07-28 names it
RUN_HEADER = "countersign-run-id"


def create_server():
    server = Server(
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
    server.extensions[TASKS] = {}
    server.add_request_handler("tasks/get", GetTaskRequestParams, get_task)
    server.add_request_handler("tasks/cancel", CancelTaskRequestParams, cancel_task)
    # `requestState` sealed by the SDK's boundary (AES-256-GCM under the shared key ring), bound to
    # the agent, the tool, a digest of the arguments and a TTL; anything else is refused -32602.
    security = RequestStateSecurity(
        keys=settings.HITL_MCP_STATE_KEYS, ttl=settings.HITL_MCP_STATE_TTL_SECONDS, bind_principal=principal
    )
    server.middleware.append(RequestStateBoundary(security, default_audience="countersign"))
    return server


def principal(ctx):
    return f"agent:{agent_of(ctx).pk}"


def agent_of(ctx):
    """The agent whose bearer token this request carried (set by `gateway.asgi`)."""
    return ctx.request.scope["countersign.agent"]


@dataclass(frozen=True)
class Run:
    """What groups a call with others: the inbox's batch, the repair loop's count, a retry's match."""

    session_id: str
    attaches: bool  # a retried call attaches to its pending first (never across calls without a run)
    idempotency_key: str | None = None


def run_of(ctx):
    """The run the client names in the `Countersign-Run-Id` header (`countersign-mcp` sends one per
    process); else a 2025 client's session; else the call is a run of its own."""
    session = ctx.request.scope.get("countersign.session")
    key = f"mcp:{session}:{ctx.request_id}"[:255] if session and ctx.request_id is not None else None
    if named := ctx.request.headers.get(RUN_HEADER, "").strip():
        return Run(named, True, key)
    if session:
        return Run(session, True, key)
    return Run(f"mcp-call-{uuid.uuid4().hex}", False)


def modern(ctx):
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def declares_tasks(ctx):
    capabilities = ctx.session.client_capabilities
    return modern(ctx) and capabilities is not None and TASKS in (capabilities.extensions or {})


async def list_tools(ctx, params):
    sessions = ctx.lifespan_context["sessions"]
    upstreams = await database(calls.enabled_upstreams)
    listings = await asyncio.gather(*(listed(sessions, upstream) for upstream in upstreams))
    return ListToolsResult(tools=[tool for listing in listings for tool in listing])


async def listed(sessions, upstream):
    """The upstream's tools as clients see them. Every upstream is asked at once, and one that has
    listed before is waited for at most HITL_MCP_LIST_SECONDS: one that cannot answer in time
    (down, hung, slow) is offered as it last listed, logged, so it neither hides nor delays the
    others; its listing goes on in the background and is used once it comes. One never listed is
    waited for up to its own timeout (there is nothing else to offer)."""
    refreshing = sessions.listings.get(upstream.name)
    if refreshing is None or refreshing.done():
        refreshing = sessions.listings[upstream.name] = asyncio.ensure_future(refresh(sessions, upstream))
        refreshing.add_done_callback(lambda done: done.cancelled() or done.exception())  # read: logged below
    deadline = settings.HITL_MCP_LIST_SECONDS if upstream.listing else upstream.timeout
    try:
        tools, registered = await asyncio.wait_for(asyncio.shield(refreshing), deadline)
    except (UpstreamError, TimeoutError) as error:
        why = error if isinstance(error, UpstreamError) else f"MCP server '{upstream.name}' took over {deadline:g} s"
        tools, registered = await database(upstream.last_listing)
        age = f"listed at {upstream.listed_at:%Y-%m-%d %H:%M:%S}" if upstream.listed_at else "never listed"
        log.warning("%s; offering its last good listing (%s)", why, age)
    specs = {spec["name"]: spec for spec in tools}
    return [as_mcp_tool(specs[tool.name], tool, action_type) for tool, action_type in registered]


async def refresh(sessions, upstream):
    tools = await sessions.for_spec(upstream.connection_spec()).list_tools()
    return tools, await database(upstream.register_listing, tools)


def as_mcp_tool(spec, tool, action_type):
    """The tool as the upstream wrote it (every field, keys in its order), under its namespaced
    name. Two fields change meaning through the gateway: the input schema is the one calls are
    checked against (the upstream's own unless an admin tightened it), and `execution.taskSupport`
    says what the gateway offers rather than what the upstream does: the gateway holds the call
    itself, as a task only through the 2026 Tasks extension, so 2025-11-25 task augmentation is
    `forbidden`."""
    shown = {**spec, "name": tool.namespaced_name}
    if action_type.params_schema and action_type.params_schema != spec.get("inputSchema"):
        shown["inputSchema"] = action_type.params_schema
    shown["execution"] = {**(spec.get("execution") or {}), "taskSupport": "forbidden"}
    return Tool.model_validate(shown)


async def call_tool(ctx, params):
    sessions = ctx.lifespan_context["sessions"]
    if params.request_state is not None:  # a 2026 client back for a call it was told to retry
        return await resume(ctx, sessions, params)
    run = run_of(ctx)

    def propose():
        return database(
            calls.propose,
            agent=agent_of(ctx),
            name=params.name,
            arguments=params.arguments or {},
            run=run,
            policies=ctx.request.scope.get("countersign.policies"),
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
    if action.status == Action.Status.PENDING:
        if declares_tasks(ctx):
            task = await database(calls.create_task, action, tool)
            return {"resultType": "task", **task_shape(task)}
        if modern(ctx):
            return await hold_round(ctx, sessions, upstream, tool, action, elicit=True)
        action = await held(ctx, action)
        if action.status == Action.Status.PENDING:  # released by a process that stops
            return not_run(call_again_text(action))
    elif created:  # approved or refused on arrival: no other request can hold this action
        return await conclude(ctx, sessions, upstream, tool, action, sole=True)
    return await conclude(ctx, sessions, upstream, tool, action)


async def conclude(ctx, sessions, upstream, tool, action, *, sole=False):
    """A decided call: forwarded when approved, else the reason it was not run; already run by
    another request holding the same action (a retry attached to it), what that one got."""
    if action.status in (Action.Status.EXECUTED, Action.Status.FAILED):
        return CallToolResult.model_validate(await database(calls.forwarded_result, action))
    if action.status != Action.Status.APPROVED:
        return not_run(await database(calls.not_run_text, action))
    return await forward(ctx, sessions, upstream, tool, action, sole=sole)


async def hold_round(ctx, sessions, upstream, tool, action, *, elicit):
    """A 2026 client without tasks: hold the call a bounded time (HITL_MCP_HOLD_SECONDS, below
    common client timeouts); decided by then, the result; else `input_required`, whose sealed
    `requestState` brings the client's retry back to this action on any process. The first round
    also asks the client (where it takes URL elicitations) to show the person the review page."""
    try:
        action = await wait_until(
            action.pk, settings.HITL_MCP_HOLD_SECONDS, done=lambda now: now.status != Action.Status.PENDING
        )
    except asyncio.CancelledError:  # the client closed the response stream: 2026's cancellation
        if not readiness.draining():  # not the process stopping: the call stays held for its retry
            await asyncio.shield(database(calls.cancel_if_pending, action.pk))
        raise
    if action.status != Action.Status.PENDING:
        return await conclude(ctx, sessions, upstream, tool, action)
    result = {"resultType": "input_required", "requestState": json.dumps({"action": str(action.pk)})}
    capabilities = ctx.session.client_capabilities
    if elicit and capabilities is not None and capabilities.elicitation and capabilities.elicitation.url:
        result["inputRequests"] = {
            REVIEW_KEY: {
                "method": "elicitation/create",
                "params": {
                    "mode": "url",
                    "message": calls.waiting_text(action),
                    "url": action.review_url,
                    "elicitationId": str(action.pk),
                },
            }
        }
    return result


REVIEW_KEY = "review"


async def resume(ctx, sessions, params):
    """The retry of a call answered `input_required`: the boundary has opened and checked its state
    (this agent, this tool, these arguments, not expired), so it names the action to go on with."""
    try:
        action_id = uuid.UUID(json.loads(params.request_state)["action"])
    except (ValueError, KeyError, TypeError):
        raise MCPError(code=INVALID_PARAMS, message="Invalid or expired requestState") from None
    upstream, tool = await database(calls.find_tool, params.name)
    action = await database(calls.action_of, agent_of(ctx), action_id)
    if tool is None or action is None:
        raise MCPError(code=INVALID_PARAMS, message="Invalid or expired requestState")
    answer = (params.input_responses or {}).get(REVIEW_KEY)
    if answer is not None and getattr(answer, "action", None) in ("decline", "cancel"):
        action = await database(calls.cancel_if_pending, action.pk)  # the person at the client said no
    if action.status == Action.Status.PENDING:
        return await hold_round(ctx, sessions, upstream, tool, action, elicit=False)
    return await conclude(ctx, sessions, upstream, tool, action)


def task_shape(task):
    """A task as the Tasks extension shows it (`tasks/get`, and the handle a held call returns)."""
    shape = {
        "taskId": str(task.id),
        "status": task.status,
        "createdAt": task.created_at.isoformat().replace("+00:00", "Z"),
        "lastUpdatedAt": task.updated_at.isoformat().replace("+00:00", "Z"),
        "ttlMs": int((task.expires_at - task.created_at).total_seconds() * 1000),
    }
    if task.status_message:
        shape["statusMessage"] = task.status_message
    if task.status == "working":
        shape["pollIntervalMs"] = settings.HITL_MCP_POLL_INTERVAL_MS
    elif task.status == "completed":
        shape["result"] = task.result
    elif task.status == "failed":
        shape["error"] = task.error
    return shape


async def a_task(ctx, params, then):
    """`then(task)` for the agent's task `params` names, in one database turn."""
    if not declares_tasks(ctx):
        raise MCPError(
            code=MISSING_REQUIRED_CLIENT_CAPABILITY,
            message="Missing required client capability",
            data={"requiredCapabilities": {"extensions": {TASKS: {}}}},
        )
    answer = await database(calls.with_task, agent_of(ctx), params.task_id, then)
    if answer is None:
        raise MCPError(code=INVALID_PARAMS, message="Failed to retrieve task: Task not found or expired")
    return answer


async def get_task(ctx, params):
    """`tasks/get`, on any process: the task as its action now stands. The poll that first finds
    the action approved claims it and runs the call upstream, so the call runs once."""
    task, run = await a_task(ctx, params, calls.settle_task)
    if run:
        sessions = ctx.lifespan_context["sessions"]
        action = task.action
        upstream_session = sessions.for_spec(task.tool.upstream.connection_spec())
        try:
            result = await upstream_session.call_tool(task.tool.name, action.final_params)
        except UpstreamError as error:
            await asyncio.shield(database(calls.record_failure, action, error))
        except asyncio.CancelledError:
            failure = "the poll running the approved call ended while the upstream server ran it"
            await asyncio.shield(database(calls.record_failure, action, failure))
            raise
        else:
            await asyncio.shield(database(calls.record_result, action, result))
        task = await database(calls.task_for, agent_of(ctx), task.pk)
    return task_shape(task)


async def cancel_task(ctx, params):
    """`tasks/cancel`: withdraws the pending action (a decision already made stands)."""
    await a_task(ctx, params, calls.cancel_task)
    return {}


async def held(ctx, action):
    """Hold the call while a person decides, telling the client why it waits; a client that cancels
    the request (or goes away) withdraws the action."""
    reporter = asyncio.create_task(report_waiting(ctx, action))
    try:
        return await await_decision(action)
    except asyncio.CancelledError:
        if not readiness.draining():  # not the process stopping: the call stays held for its retry
            await asyncio.shield(database(calls.cancel_if_pending, action.pk))
        raise
    finally:
        reporter.cancel()


async def await_decision(action):
    """Wait until `action` leaves `pending` and return it as it is then: approved (with its final
    parameters), rejected, expired or cancelled. Waits as long as it takes; the action's SLA and
    timeout fallback bound it. A coroutine woken by the process's one LISTEN connection
    (`approvals.waiting`): no thread and no database connection is held while it waits. A process
    that stops returns it still pending (`hitl_lib.readiness`)."""
    return await wait_until(action.pk, None, done=lambda now: now.status != Action.Status.PENDING)


async def report_waiting(ctx, action):
    """MCP progress notifications while a call is held (only where the client asked for progress)."""
    waited = 0
    message = f"Waiting for a person to approve: {action.summary} ({action.review_url})"
    while True:
        await ctx.session.report_progress(waited, None, message)
        await asyncio.sleep(settings.HITL_MCP_PROGRESS_SECONDS)
        waited += settings.HITL_MCP_PROGRESS_SECONDS


async def forward(ctx, sessions, upstream, tool, action, *, sole=False):
    """Run the approved call upstream with its final arguments, once, and return the upstream's
    result as it came; record it as the action's outcome. `sole`: approved on arrival, so that no
    other request (a retry attaches only to a pending action) or task can hold it, and the claim,
    the tasks' update and the wake-up, a commit and two statements, are spared."""

    async def progress(done, total, message):
        await ctx.session.report_progress(done, total, message)

    if not sole and not await database(calls.claim_forward, action):
        # Another request holding the same action (a retry attached to it) runs it: its result.
        # Not released by a process that stops: the one running it records the outcome (or that it
        # stopped midway) before its process ends.
        action = await wait_until(
            action.pk, None, done=lambda now: now.status != Action.Status.APPROVED, drain=False
        )
        return CallToolResult.model_validate(await database(calls.forwarded_result, action))
    session = sessions.for_spec(upstream.connection_spec())
    try:
        result = await session.call_tool(tool.name, action.final_params, progress=progress)
    except UpstreamError as error:
        await database(calls.record_failure, action, error, sole=sole)
        raise MCPError(
            code=INTERNAL_ERROR, message=f"{error}. The call was not retried; action {action.pk} is recorded as failed."
        ) from None
    except asyncio.CancelledError:
        failure = "the MCP client cancelled the call while the upstream server ran it; it may or may not have run"
        await asyncio.shield(database(calls.record_failure, action, failure, sole=sole))
        raise
    if await database(calls.record_result, action, result, sole=sole) is not None:
        return await reviewed(action)
    return result


async def reviewed(action):
    """The upstream's result held for a person (approvals/models/output_review.py): as released, maybe
    redacted, or isError saying it was withheld and why. Waits as the decision does: woken, no thread."""
    state = await wait_until(action.pk, None, done=calls.output_decided, shape=calls.output_state)
    if state["output_review"]["status"] == "pending":  # released by a process that stops
        return not_run(
            "The call ran, and its output is held for a person's review; this Countersign process is restarting, so "
            "the output cannot be given on this request. Do not call again (the tool already ran): "
            f"{action.review_url}"
        )
    if state["output_review"]["status"] == "withheld":
        return not_run(f"Not given to you: a person withheld this tool's output: {state['output_review']['note']}")
    return CallToolResult.model_validate(state["outcome"]["output"])


def call_again_text(action):
    """A 2025 held call released by a process that stops: the client's next identical call in the
    same session (or run) attaches to the same pending action, on whichever process it lands."""
    return (
        "Not run yet: this call is still waiting for a person's approval, and the Countersign process holding "
        "it is restarting. Call the tool again with the same arguments: the call attaches to the same pending "
        f"approval (no second request is made). {calls.waiting_text(action)}"
    )


def not_run(text):
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def refused_text(refusal):
    if refusal.code == "params_invalid":
        problems = "; ".join(f"{error['path']}: {error['message']}" for error in refusal.details)
        return f"Not run: the arguments do not match the tool's input schema ({problems}). Fix them and call again."
    return f"Not run: {refusal.message}"
