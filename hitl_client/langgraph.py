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
through `action_names` (default: the tool's own name). A suggest-only type, a decision nobody
made in time, or anything that breaks on the way to a decision (Countersign down, a refused
token or arguments, an error in the adapter) is answered as a rejection whose message says why,
so the graph never runs what was not approved. After the resumed run, `run()` reports the outcome
of each approved call from the ToolMessage it produced (`status="error"`: failed).

A node that calls `interrupt({...})` with a payload of its own is mapped with `mappings=`: a
`Mapping(calls, resume)` says which tool calls the payload asks about and builds the resume value
from one `Decision` per call. `generic` is a ready-made mapping for payloads that name one call —
`{"action" | "tool" | "name": ..., "args" | "arguments" | "params": {...}}` or `{"tool_call": {"name",
"args"}}` — resumed with `{"type": "approve" | "edit" | "reject", "approved", "args", "message"}`.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hitl_client.review import Decision, decide_safely, report

__all__ = ["Decision", "Mapping", "arun", "decide_all", "generic", "interrupts_of", "resume_command", "run"]


@dataclass(frozen=True)
class Mapping:
    """One kind of interrupt payload. `calls(value)`: the (tool name, args) pairs the payload asks about, in
    order, or None when the payload is not of this kind. `resume(value, decisions)`: the value to resume the
    node with, given one `Decision` per call (`.verdict`, `.approved`, `.args`, `.message`)."""

    calls: Callable[[Any], list[tuple[str, dict]] | None]
    resume: Callable[[Any, list[Decision]], Any]


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


def _is_batched(value):
    return isinstance(value, dict) and "action_requests" in value


def _is_per_call(value):
    return isinstance(value, dict) and value.get("type") == "tool_approval"


def _legacy_requests(value):
    legacy = value if isinstance(value, list) else [value]
    if legacy and all(isinstance(r, dict) and "action_request" in r for r in legacy):
        return legacy
    return None


def _batched_resume(value, decisions):
    allowed = {c["action_name"]: c.get("allowed_decisions", []) for c in value.get("review_configs", [])}
    return {
        "decisions": [
            _v1_decision(r["name"], *decision[:3], allowed.get(r["name"], ["approve", "edit", "reject"]))
            for r, decision in zip(value["action_requests"], decisions)
        ]
    }


def _legacy_resume(value, decisions):
    responses = [_legacy_response(r, *d[:3]) for r, d in zip(_legacy_requests(value), decisions)]
    return responses if isinstance(value, list) else responses[0]


# LangChain v1's HumanInTheLoopMiddleware, batched and per call, and the legacy HumanInterrupt.
BUILT_IN = (
    Mapping(
        calls=lambda v: [(r["name"], r["args"]) for r in v["action_requests"]] if _is_batched(v) else None,
        resume=_batched_resume,
    ),
    Mapping(
        calls=lambda v: [(v["name"], v["args"])] if _is_per_call(v) else None,
        resume=lambda v, decisions: _v1_decision(v["name"], *decisions[0][:3], ["approve", "edit", "reject"]),
    ),
    Mapping(
        calls=lambda v: (
            [(r["action_request"]["action"], r["action_request"]["args"]) for r in requests]
            if (requests := _legacy_requests(v))
            else None
        ),
        resume=_legacy_resume,
    ),
)


def _first(value, keys, kind):
    return next((value[k] for k in keys if isinstance(value.get(k), kind)), None)


def _generic_calls(value):
    if not isinstance(value, dict):
        return None
    call = value.get("tool_call")
    if isinstance(call, dict) and isinstance(call.get("name"), str):
        return [(call["name"], call.get("args") or {})]
    name, args = _first(value, ("action", "tool", "name"), str), _first(value, ("args", "arguments", "params"), dict)
    return [(name, args)] if name is not None and args is not None else None


generic = Mapping(
    calls=_generic_calls,
    resume=lambda value, decisions: {
        "type": decisions[0].verdict,
        "approved": decisions[0].approved,
        "args": decisions[0].args,
        "message": decisions[0].message,
        "note": decisions[0].edit_note,  # what the reviewer changed, for the model; None unless edited
        "action_id": decisions[0].action_id,  # to report the outcome: client.report(action_id, ...)
    },
)


def _mapping_for(value, mappings):
    """(the mapping that knows this payload, the calls it asks about)."""
    for mapping in (*mappings, *BUILT_IN):
        calls = mapping.calls(value)
        if calls is not None:
            return mapping, calls
    raise ValueError(
        f"Not a human-in-the-loop interrupt this adapter knows: {value!r}. Map your own payload with "
        "mappings=[Mapping(calls=..., resume=...)], or mappings=[generic] if it names one call as "
        '{"action": ..., "args": {...}} or {"tool_call": {...}}.'
    )


def _decide(client, interrupts, *, action_names=None, wait_timeout=3600.0, mappings=(), **fields):
    """({interrupt id: resume value}, [(tool name, proposed args, Decision)] of the approved calls)."""
    known = {key: _mapping_for(value, mappings) for key, value in interrupts}
    calls = [(key, i, name, args) for key, _ in interrupts for i, (name, args) in enumerate(known[key][1])]
    decisions = decide_safely(
        client,
        [(f"langgraph:{key}:{i}", name, args) for key, i, name, args in calls],
        action_names=action_names,
        wait_timeout=wait_timeout,
        **fields,
    )
    by_interrupt = {key: [] for key, _ in interrupts}
    for (key, *_), decision in zip(calls, decisions):
        by_interrupt[key].append(decision)
    resumes = {key: known[key][0].resume(value, by_interrupt[key]) for key, value in interrupts}
    values = dict(interrupts)
    approved = []
    for (key, i, name, args), decision in zip(calls, decisions):
        if decision.verdict == "edit" and known[key][0] in BUILT_IN and _edit_refused(values[key], i):
            # Resumed as a rejection (the interrupt takes no edits): approved, but it will never run.
            report(client, decision, error="Not run: the interrupt does not accept edits, so the call was rejected.")
        elif decision.approved:
            approved.append((name, args, decision))
    return resumes, approved


def _edit_refused(value, index):
    """Whether a built-in interrupt shape refuses an edit of its `index`-th call (then it is resumed as a
    rejection); a payload of your own mapping decides that itself."""
    if _is_batched(value):
        name = value["action_requests"][index]["name"]
        allowed = {c["action_name"]: c.get("allowed_decisions", []) for c in value.get("review_configs", [])}
        return "edit" not in allowed.get(name, ["edit"])
    legacy = _legacy_requests(value)
    if legacy is not None and not _is_per_call(value):
        return not (legacy[index].get("config") or {}).get("allow_edit", True)
    return False


def decide_all(client, interrupts, **options):
    """{interrupt id: resume value} for `(id, value)` pairs. Every tool call is proposed before any is
    waited on, so reviewers see them all at once; proposals are keyed by the interrupt's id, so a
    second run after a crash finds the same actions instead of asking twice. `mappings` are tried before
    the built-in shapes. A call that cannot be decided (Countersign down, a refused token…) is answered
    as a rejection saying why."""
    return _decide(client, interrupts, **options)[0]


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


def _messages(values):
    values = getattr(values, "value", values)  # LangGraph's v2 output wraps the state
    return values.get("messages", []) if isinstance(values, dict) else []


def _call_ids(graph, config, approved):
    """{tool call id: Decision} for the approved calls, found among the tool calls of the state's messages
    by name and proposed arguments (the interrupts themselves carry no call id)."""
    try:
        messages = _messages(graph.get_state(config).values)
    except Exception:  # a graph without a checkpointer has no state to read: nothing to report against
        return {}
    calls = [call for message in messages for call in getattr(message, "tool_calls", None) or []]
    found = {}
    for name, args, decision in approved:
        for call in reversed(calls):
            if call.get("id") not in found and call.get("name") == name and call.get("args") == args:
                found[call["id"]] = decision
                break
    return found


def _report_outcomes(client, result, expected):
    """Report each approved call whose ToolMessage the resumed run produced: `status="error"` is a failure."""
    for message in _messages(result):
        decision = expected.pop(getattr(message, "tool_call_id", None), None)
        if decision is None or getattr(message, "type", None) != "tool":
            continue
        if getattr(message, "status", "success") == "error":
            report(client, decision, error=str(message.content))
        else:
            report(client, decision, result=message.content)


def _report_failure(client, expected, exc):
    """The resumed run raised before these approved calls produced a ToolMessage (a tool that raised, with
    no error handling in the graph): they failed."""
    for decision in expected.values():
        report(client, decision, error=exc)


def run(client, graph, graph_input, config, **options):
    """Invoke the graph, answering each human-in-the-loop interrupt through Countersign until it finishes;
    the outcome of each approved call is reported from the ToolMessage it produced."""
    result = graph.invoke(graph_input, config)
    while pending := interrupts_of(result):
        resumes, approved = _decide(client, [(i.id, i.value) for i in pending], **options)
        expected = _call_ids(graph, config, approved)
        from langgraph.types import Command

        try:
            result = graph.invoke(Command(resume=resumes), config)
        except Exception as exc:
            _report_failure(client, expected, exc)
            raise
        _report_outcomes(client, result, expected)
    return result


async def arun(client, graph, graph_input, config, **options):
    """`run()` for graphs driven with `ainvoke`; the decisions are awaited in a thread with the sync `client`."""
    from langgraph.types import Command

    result = await graph.ainvoke(graph_input, config)
    while pending := interrupts_of(result):
        resumes, approved = await asyncio.to_thread(_decide, client, [(i.id, i.value) for i in pending], **options)
        expected = _call_ids(graph, config, approved)
        try:
            result = await graph.ainvoke(Command(resume=resumes), config)
        except Exception as exc:
            _report_failure(client, expected, exc)
            raise
        _report_outcomes(client, result, expected)
    return result
