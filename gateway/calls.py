"""What a `tools/call` does to the database, as plain sync functions: the MCP endpoint runs each
in a worker thread of `hitl_lib.dbthreads`, never on its event loop."""

from approvals.models import SLA_TIMEOUT_NAME, Action, Conflict
from approvals.models.output_review import report_outcome
from approvals.services import action_propose
from gateway.models import Upstream, UpstreamTool, split_tool_name
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


def find_tool(namespaced):
    """The enabled upstream and its listed tool that clients call `namespaced`: (upstream, tool or
    None), or (None, None) when no enabled upstream has that name."""
    names = split_tool_name(namespaced)
    if names is None:
        return None, None
    tool = (
        UpstreamTool.objects.select_related("upstream")
        .filter(upstream__name=names[0], upstream__enabled=True, name=names[1], withheld_reason="")
        .first()
    )
    if tool is not None:
        return tool.upstream, tool
    return Upstream.objects.filter(name=names[0], enabled=True).first(), None


def propose(*, agent, name, arguments, session_id, idempotency_key):
    """Find the tool clients call `name` and propose the call as an action of its type, in one
    database thread's turn: (upstream, tool, action, created). (upstream, None, None, False) for a
    tool the upstream has not listed (yet); raises routing's Refusal (paused, invalid arguments:
    the repair loop counts those)."""
    upstream, tool = find_tool(name)
    if tool is None:
        return upstream, None, None, False
    proposal = Proposal(action=tool.action_key, params=arguments, session_id=session_id or "")
    action, created = action_propose(agent=agent, proposal=proposal, idempotency_key=idempotency_key)
    if not created:  # another request's action: as it is now
        action = Action.objects.select_related("agent", "action_type", "decision__by").get(pk=action.pk)
    return upstream, tool, action, created


def record_result(action, result):
    """The upstream's answer as the action's outcome: `executed`, or `failed` when the tool said
    isError. The audit event is redacted by the type's paths (`output.…`). Where the type reviews
    outputs it is held instead: returns the OutputReview then, else None."""
    output = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    error = ""
    if result.is_error:
        error = " ".join(block.text for block in result.content if getattr(block, "type", "") == "text")[:20_000]
    return report_outcome(action, succeeded=not result.is_error, output=output, error=error or "")


def output_state(action):
    """What a held output's waiter reads (in a database thread): the action in its API shape."""
    return action.as_api()


def output_decided(state):
    return (state.get("output_review") or {}).get("status") != "pending"


def record_failure(action, error):
    action.record_outcome(succeeded=False, error=str(error)[:20_000])


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
