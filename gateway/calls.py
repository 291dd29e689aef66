"""What a `tools/call` does to the database, as plain sync functions: the MCP endpoint runs each
in a worker thread of `hitl_lib.dbthreads`, never on its event loop."""

import hashlib
import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from approvals.models import SLA_TIMEOUT_NAME, Action, Conflict
from approvals.models.output_review import report_outcome
from approvals.services import action_propose
from gateway.models import ClientSession, ForwardedCall, ToolTask, Upstream, UpstreamTool, split_tool_name
from policies.routing import Proposal

CLIENT_CANCELLED = "its MCP client cancelled the tools/call request while the call waited for a decision"
NOT_RUN = {
    Action.Status.REJECTED: "rejected",
    Action.Status.EXPIRED: "expired",
    Action.Status.CANCELLED: "cancelled",
    Action.Status.DISMISSED: "dismissed",
}


def enabled_upstreams():
    return list(Upstream.objects.filter(enabled=True))


_found = (None, {})  # (policies generation, {namespaced name: (upstream, tool)}) of this process


def find_tool(namespaced, policies=None):
    """The enabled upstream and its listed tool that clients call `namespaced`: (upstream, tool or
    None), or (None, None) when no enabled upstream has that name. A tool found is kept in this
    process for as long as the policies' generation (`policies`: those the request read) does not
    move: every change to what this looks up bumps it (migration gateway.0004)."""
    global _found
    if policies is not None:
        generation, found = _found
        if generation != policies.generation:
            generation, found = policies.generation, {}
            _found = generation, found
        if namespaced in found:
            return found[namespaced]
    names = split_tool_name(namespaced)
    if names is None:
        return None, None
    tool = (
        UpstreamTool.objects.select_related("upstream")
        .filter(upstream__name=names[0], upstream__enabled=True, name=names[1], withheld_reason="")
        .first()
    )
    if tool is not None:
        if policies is not None:
            found[namespaced] = tool.upstream, tool
        return tool.upstream, tool
    return Upstream.objects.filter(name=names[0], enabled=True).first(), None


def propose(*, agent, name, arguments, run, policies=None):
    """Find the tool clients call `name` and propose the call as an action of its type, in one
    database thread's turn: (upstream, tool, action, created). `policies`: those the request
    authenticated with (policies/cache.py), else the current ones. A call repeated within its run while
    the first is still pending (a client's retry) attaches to that first action (created False).
    (upstream, None, None, False) for a tool the upstream has not listed (yet); raises routing's
    Refusal (paused, invalid arguments: the repair loop counts those within the run)."""
    upstream, tool = find_tool(name, policies)
    if tool is None:
        return upstream, None, None, False
    if not run.attaches:
        return upstream, tool, *_propose(agent, tool, arguments, run, policies)
    # Two copies of one call at once (a client retrying while the first is in flight): the second
    # waits on this lock until the first is stored, then attaches to it. A session-level advisory
    # lock, since the proposal commits its own transactions.
    call = json.dumps([agent.pk, run.session_id, tool.action_key, arguments], sort_keys=True, default=str)
    lock = int.from_bytes(hashlib.sha256(call.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock])
    try:
        first = (
            Action.objects.select_related("agent", "action_type", "decision__by")
            .filter(agent=agent, session_id=run.session_id, action_type__key=tool.action_key, params=arguments)
            .filter(status=Action.Status.PENDING)
            .order_by("created_at")
            .first()
        )
        if first is not None:
            return upstream, tool, first, False
        return upstream, tool, *_propose(agent, tool, arguments, run, policies)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])


def _propose(agent, tool, arguments, run, policies):
    proposal = Proposal(action=tool.action_key, params=arguments, session_id=run.session_id)
    action, created = action_propose(
        agent=agent, proposal=proposal, idempotency_key=run.idempotency_key, policies=policies
    )
    if not created:  # another request's action: as it is now
        action = Action.objects.select_related("agent", "action_type", "decision__by").get(pk=action.pk)
    return action, created


def claim_forward(action):
    """True for the one caller that may send this approved call upstream (see ForwardedCall)."""
    try:
        with transaction.atomic():
            ForwardedCall.objects.create(action=action)
    except IntegrityError:
        return False
    return True


def record_result(action, result, *, sole=False):
    """The upstream's answer as the action's outcome: `executed`, or `failed` when the tool said
    isError. The audit event is redacted by the type's paths (`output.…`). Where the type reviews
    outputs it is held instead: returns the OutputReview then, else None. Every task waiting on the
    action (none when `sole`) completes with it in the same transaction; every request waiting on
    it hears of it through the outcome's announcement."""
    output = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    error = ""
    if result.is_error:
        error = " ".join(block.text for block in result.content if getattr(block, "type", "") == "text")[:20_000]
    if sole:  # no task to finish: the outcome's own transaction, without a savepoint inside another
        return report_outcome(action, succeeded=not result.is_error, output=output, error=error or "")
    with transaction.atomic():
        review = report_outcome(action, succeeded=not result.is_error, output=output, error=error or "")
        if review is None:
            finish_tasks(action, ToolTask.Status.COMPLETED, result=output)
    return review


def output_state(action):
    """What a held output's waiter reads (in a database thread): the action in its API shape."""
    return action.as_api()


def output_decided(state):
    return (state.get("output_review") or {}).get("status") != "pending"


def record_failure(action, error, *, sole=False):
    if sole:
        action.record_outcome(succeeded=False, error=str(error)[:20_000])
        return
    with transaction.atomic():
        action.record_outcome(succeeded=False, error=str(error)[:20_000])
        finish_tasks(action, ToolTask.Status.FAILED, error={"code": -32603, "message": str(error)}, message=str(error))


def forwarded_result(action):
    """For a request that did not run the approved call itself: what the one that ran it got."""
    output = (action.outcome or {}).get("output")
    if isinstance(output, dict) and "content" in output:
        return output
    error = (action.outcome or {}).get("error") or "no result was recorded"
    return not_run_result(f"The approved call was run once, by another request, and is {action.status}: {error}")


def session_of(agent, session_id):
    """The agent's 2025 session of that id, or None (unknown, ended, or another agent's)."""
    return ClientSession.objects.filter(pk=session_id, agent=agent).first()


def end_session(agent, session_id):
    return ClientSession.objects.filter(pk=session_id, agent=agent).delete()[0] > 0


def cancel_by_request(agent, key):
    """A 2025 client's `notifications/cancelled` for a held call, on whichever process it lands:
    withdraw the action that request proposed (found by its idempotency key), if still pending."""
    action = Action.objects.filter(agent=agent, idempotency_key=key, status=Action.Status.PENDING).first()
    if action is not None:
        cancel_if_pending(action.pk)


def create_task(action, tool):
    """The held call as a task, stored before its handle goes to the client (the extension's rule:
    a `tasks/get` for a returned id must resolve)."""
    now = timezone.now()
    return ToolTask.objects.create(
        agent=action.agent,
        action=action,
        tool=tool,
        status_message=waiting_text(action),
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=settings.HITL_MCP_TASK_TTL_SECONDS),
    )


def waiting_text(action):
    return f"Waiting for a person to approve: {action.summary} ({action.review_url})"


def task_for(agent, task_id):
    """The agent's task of that id, with its action and tool, or None (unknown, expired, another's)."""
    try:
        uuid.UUID(str(task_id))
    except ValueError:
        return None
    return (
        ToolTask.objects.select_related(
            "action__agent", "action__action_type", "action__decision__by", "tool__upstream"
        )
        .filter(pk=task_id, agent=agent, expires_at__gt=timezone.now())
        .first()
    )


def with_task(agent, task_id, then):
    """`then(task)` for the agent's task of that id; None when there is none (unknown, expired)."""
    task = task_for(agent, task_id)
    return None if task is None else then(task)


def finish_tasks(action, status, *, result=None, error=None, message=""):
    """Move the action's working tasks to their end state, once: a conditional UPDATE, so two
    processes settling them at once store one outcome."""
    return ToolTask.objects.filter(action=action, status=ToolTask.Status.WORKING).update(
        status=status, result=result, error=error, status_message=message, updated_at=timezone.now()
    )


def settle_task(task):
    """Bring a working task up to date with its action: (task, run) where `run` says the caller
    claimed the approved call and must now run it upstream."""
    action = task.action
    if task.status != ToolTask.Status.WORKING:
        return task, False
    if action.status == Action.Status.PENDING:
        return task, False
    if action.status == Action.Status.APPROVED:
        if claim_forward(action):
            return task, True
        started = ForwardedCall.objects.filter(action=action).values_list("started_at", flat=True).first()
        limit = timedelta(seconds=task.tool.upstream.timeout + 60)
        if started is not None and started < timezone.now() - limit:
            text = "the process running the approved call upstream stopped; it may or may not have run"
            finish_tasks(action, ToolTask.Status.FAILED, error={"code": -32603, "message": text}, message=text)
        task.refresh_from_db(fields=["status", "result", "error", "status_message", "updated_at"])
        if task.status == ToolTask.Status.WORKING:
            task.status_message = "Approved; running on the upstream server."
        return task, False
    text = not_run_text(action)
    if action.status == Action.Status.CANCELLED:
        finish_tasks(action, ToolTask.Status.CANCELLED, message=text)
    elif action.status in (Action.Status.EXECUTED, Action.Status.FAILED):
        finish_tasks(action, ToolTask.Status.COMPLETED, result=forwarded_result(action))
    else:
        finish_tasks(action, ToolTask.Status.COMPLETED, result=not_run_result(text), message=text)
    task.refresh_from_db(fields=["status", "result", "error", "status_message", "updated_at"])
    return task, False


def action_of(agent, pk):
    return Action.objects.select_related("agent", "action_type", "decision__by").filter(pk=pk, agent=agent).first()


def cancel_task(task):
    """`tasks/cancel`: withdraw the action if still pending; the task follows it."""
    cancel_if_pending(task.action_id)
    task.action.refresh_from_db()
    return settle_task(task)[0]


def not_run_result(text):
    return {"content": [{"type": "text", "text": text}], "isError": True}


def cancel_if_pending(pk):
    """The client gave up on a held call: withdraw its action, unless someone decided it meanwhile."""
    action = Action.objects.select_related("agent", "action_type").get(pk=pk)
    if action.status == Action.Status.PENDING:
        try:
            action.cancel(reason=CLIENT_CANCELLED)
        except Conflict:  # decided in the same instant: the decision stands
            action.refresh_from_db()
    return action


def not_run_text(action):
    """Why a call was not run, in words for the model: by whom and why."""
    decision = action.as_api()["decision"]
    outcome = action.outcome or {}
    if action.status == Action.Status.EXPIRED or (decision and decision["by"] == SLA_TIMEOUT_NAME):
        # The SLA's timeout fallback: the action type's setting, after every escalation tier.
        verdict = "expired" if action.status == Action.Status.EXPIRED else "rejected"
        reason = outcome.get("reason") or (decision or {}).get("reason") or "nobody decided in time"
        return f"Not run: the SLA's timeout fallback {verdict} this call: {reason}"
    if action.status == Action.Status.REJECTED and decision:
        reason = f": {decision['reason']}" if decision["reason"] else " (no reason given)"
        return f"Not run: {decision['by']} rejected this call{reason}"
    if action.status == Action.Status.CANCELLED:
        if outcome.get("reason"):
            return f"Not run: the agent {outcome['by']} cancelled this call: {outcome['reason']}."
        # Only an agent cancels; where the gateway did not, the agent did through the agent API.
        return (
            f"Not run: the agent {action.agent.name} cancelled this call through Countersign's API while it "
            "waited for a decision."
        )
    if action.status == Action.Status.SUGGESTED:
        return (
            "Not run: the policy lets an agent only suggest this tool. It was recorded as a suggestion for a person "
            f"to run or dismiss: {action.review_url}"
        )
    if decision and decision["reason"]:
        return f"Not run: it was {NOT_RUN.get(action.status, action.status)} by {decision['by']}: {decision['reason']}"
    return f"Not run: the action is {action.status}."


def purge_expired(now=None):
    """Forget tasks past their TTL (a poll already answers "not found or expired" for them), and
    2025 sessions opened longer ago than a task lives: (tasks, sessions) deleted."""
    now = now or timezone.now()
    tasks = ToolTask.objects.filter(expires_at__lte=now).delete()[0]
    since = now - timedelta(seconds=settings.HITL_MCP_TASK_TTL_SECONDS)
    sessions = ClientSession.objects.filter(created_at__lte=since).delete()[0]
    return tasks, sessions
