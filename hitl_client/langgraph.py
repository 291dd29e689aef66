"""Route a LangGraph graph's human-in-the-loop interrupts to Countersign and resume it with the decisions.

    from hitl_client.langgraph import run

    result = run(client, agent, {"messages": [...]}, {"configurable": {"thread_id": "1"}})

Understands the three interrupt shapes in use:
- LangChain v1's `HumanInTheLoopMiddleware`, batched: `{"action_requests": [...], "review_configs": [...]}`,
  resumed with `{"decisions": [...]}` (`approve`, `edit` with `edited_action`, `reject` with `message`);
- the same middleware per call: `{"type": "tool_approval", "name", "args", ...}`, resumed with one decision;
- the legacy `HumanInterrupt` (`langgraph.prebuilt.interrupt`), usually raised as a one-item list,
  resumed with `HumanResponse`s (`accept`, `edit` with `args`, `response` with the reason, `ignore`).

Each tool call becomes one proposal. Tool names map to action types
through `action_names` (default: the tool's own name). A suggest-only type or a decision nobody
made in time is answered as a rejection, so the graph never runs what was not approved.
"""

import asyncio

from hitl_client.review import propose_tool_calls, verdict_for


def _requests(value):
    """The (tool name, args) pairs an interrupt asks about, in order."""
    if isinstance(value, dict) and "action_requests" in value:
        return [(r["name"], r["args"]) for r in value["action_requests"]]
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        return [(value["name"], value["args"])]
    legacy = value if isinstance(value, list) else [value]
    if legacy and all(isinstance(r, dict) and "action_request" in r for r in legacy):
        return [(r["action_request"]["action"], r["action_request"]["args"]) for r in legacy]
    raise ValueError(f"Not a human-in-the-loop interrupt this adapter knows: {value!r}")


def _v1_decision(name, verdict, args, message, allowed):
    if verdict == "approve":
        return {"type": "approve"}
    if verdict == "edit" and "edit" in allowed:
        return {"type": "edit", "edited_action": {"name": name, "args": args}}
    if verdict == "edit":
        message = f"A reviewer approved {name} only with changes this tool does not accept: {args}"
    return {"type": "reject", "message": message}


def _legacy_response(request, verdict, args, message):
    config = request.get("config") or {}
    if verdict == "approve":
        return {"type": "accept", "args": None}
    if verdict == "edit" and config.get("allow_edit", True):
        return {"type": "edit", "args": {"action": request["action_request"]["action"], "args": args}}
    if verdict == "edit":
        message = f"A reviewer approved this only with changes the tool does not accept: {args}"
    if config.get("allow_respond", True):
        return {"type": "response", "args": message}
    return {"type": "ignore", "args": None}


def _resume_value(value, verdicts):
    """The decisions in the shape the interrupt's own framework expects."""
    if isinstance(value, dict) and "action_requests" in value:
        allowed = {c["action_name"]: c.get("allowed_decisions", []) for c in value.get("review_configs", [])}
        return {
            "decisions": [
                _v1_decision(r["name"], *verdict, allowed.get(r["name"], ["approve", "edit", "reject"]))
                for r, verdict in zip(value["action_requests"], verdicts)
            ]
        }
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        return _v1_decision(value["name"], *verdicts[0], ["approve", "edit", "reject"])
    responses = [_legacy_response(r, *v) for r, v in zip(value if isinstance(value, list) else [value], verdicts)]
    return responses if isinstance(value, list) else responses[0]


def decide_all(client, interrupts, *, action_names=None, wait_timeout=3600.0, **fields):
    """{interrupt id: resume value} for `(id, value)` pairs. Every tool call is proposed before any is
    waited on, so reviewers see them all at once; proposals are keyed by the interrupt's id, so a
    second run after a crash finds the same actions instead of asking twice."""
    proposed = {
        key: propose_tool_calls(client, _requests(value), f"langgraph:{key}", action_names, fields)
        for key, value in interrupts
    }
    return {
        key: _resume_value(value, [verdict_for(client, action, wait_timeout) for action in proposed[key]])
        for key, value in interrupts
    }


def interrupts_of(result):
    """The pending interrupts of an `invoke()` result, in either of LangGraph's output versions."""
    if hasattr(result, "interrupts"):
        return list(result.interrupts)
    if isinstance(result, dict):
        return list(result.get("__interrupt__", ()))
    return []


def resume_command(client, interrupts, **options):
    """A `Command(resume={interrupt id: resume value})` answering every interrupt."""
    from langgraph.types import Command

    return Command(resume=decide_all(client, [(i.id, i.value) for i in interrupts], **options))


def run(client, graph, graph_input, config, **options):
    """Invoke the graph, answering each human-in-the-loop interrupt through Countersign until it finishes."""
    result = graph.invoke(graph_input, config)
    while pending := interrupts_of(result):
        result = graph.invoke(resume_command(client, pending, **options), config)
    return result


async def arun(client, graph, graph_input, config, **options):
    """`run()` for graphs driven with `ainvoke`; the decisions are awaited in a thread with the sync `client`."""
    result = await graph.ainvoke(graph_input, config)
    while pending := interrupts_of(result):
        command = await asyncio.to_thread(resume_command, client, pending, **options)
        result = await graph.ainvoke(command, config)
    return result
