"""Decide Pydantic AI's deferred tool approvals in Countersign.

    from hitl_client.pydantic_ai import approvals

    agent = Agent(model, tools=[Tool(refund, requires_approval=True)], capabilities=[approvals(countersign)])
    result = agent.run_sync("Refund order 981")

Tools declared with `requires_approval=True` (or raising `ApprovalRequired`) are deferred by
Pydantic AI; `approvals(client)` is a `HandleDeferredToolCalls` capability that proposes each
deferred call, waits for the decisions and resumes the same run: an approval as `ToolApproved()`,
an edit as `ToolApproved(override_args=...)` (the tool runs with the reviewer's arguments, with
no second review), a rejection as `ToolDenied(message)` with the reviewer's reason, which the
model reads. If you end runs with `DeferredToolRequests` instead, `results(client, requests)` gives
the `DeferredToolResults` to pass to the next run, and `run_sync()` drives that loop for you.
"""

import asyncio

from hitl_client.review import decide_calls


def results(client, requests, *, action_names=None, wait_timeout=3600.0, **fields):
    """The `DeferredToolResults` answering every approval in `requests` (a `DeferredToolRequests`).

    Calls deferred for external execution (`requests.calls`) are not Countersign's to answer and are
    left out. Each proposal is keyed by the tool call's id, so answering again after a crash finds the
    same actions instead of asking twice."""
    from pydantic_ai import DeferredToolResults, ToolApproved, ToolDenied

    calls = requests.approvals
    decisions = decide_calls(
        client,
        [(f"pydantic-ai:{call.tool_call_id}", call.tool_name, call.args_as_dict()) for call in calls],
        action_names=action_names,
        wait_timeout=wait_timeout,
        **fields,
    )
    answers = {}
    for call, decision in zip(calls, decisions):
        if decision.verdict == "approve":
            answers[call.tool_call_id] = ToolApproved()
        elif decision.verdict == "edit":
            answers[call.tool_call_id] = ToolApproved(override_args=decision.args)
        else:
            answers[call.tool_call_id] = ToolDenied(decision.message)
    return DeferredToolResults(approvals=answers)


def approvals(client, **options):
    """A `HandleDeferredToolCalls` capability that answers the run's tool approvals from Countersign
    inline (a sync `Client`; Pydantic AI runs the handler in a worker thread)."""
    from pydantic_ai.capabilities import HandleDeferredToolCalls

    def handle(ctx, requests):
        if not requests.approvals:
            return None  # only external calls: not ours to answer
        return results(client, requests, **options)

    return HandleDeferredToolCalls(handler=handle)


def run_sync(client, agent, prompt, **options):
    """`agent.run_sync(prompt)` for an agent whose runs end with `DeferredToolRequests`, continued with
    Countersign's answers until the output is something else. Its `output_type` must include
    `DeferredToolRequests`, as Pydantic AI requires."""
    from pydantic_ai import DeferredToolRequests

    result = agent.run_sync(prompt)
    while isinstance(result.output, DeferredToolRequests):
        answers = results(client, result.output, **options)
        result = agent.run_sync(message_history=result.all_messages(), deferred_tool_results=answers)
    return result


async def run(client, agent, prompt, **options):
    """`run_sync()` for asyncio code; the decisions are awaited in a thread with the sync `client`."""
    from pydantic_ai import DeferredToolRequests

    result = await agent.run(prompt)
    while isinstance(result.output, DeferredToolRequests):
        answers = await asyncio.to_thread(results, client, result.output, **options)
        result = await agent.run(message_history=result.all_messages(), deferred_tool_results=answers)
    return result
