"""Decide Pydantic AI's deferred tool approvals in Countersign.

    from hitl_client.pydantic_ai import approvals

    agent = Agent(model, tools=[Tool(refund, requires_approval=True)], capabilities=[approvals(countersign)])
    result = agent.run_sync("Refund order 981")

Tools declared with `requires_approval=True` (or raising `ApprovalRequired`) are deferred by
Pydantic AI; `approvals(client)` is a `HandleDeferredToolCalls` capability that proposes each
deferred call, waits for the decisions and resumes the same run: an approval as `ToolApproved()`,
an edit as `ToolApproved(override_args=...)` (the tool runs with the reviewer's arguments, with
no second review), a rejection — or anything that broke on the way to a decision — as
`ToolDenied(message)` saying why, which the model reads. Its `wrap_tool_execute` hook then reports
each approved call's outcome (its return value, or the exception it raised) in the background and,
when a reviewer edited the call, puts what they changed before the tool's result. If you end runs
with `DeferredToolRequests` instead, `run_sync()` drives that loop for you; driving it yourself,
answer with `capability.results(requests)` and pass the same `approvals(client, inline=False)`
capability to every run.
"""

import asyncio

from hitl_client.review import decide_safely, report, with_edit_note


def _with_edit_note(decision, result):
    from pydantic_ai.messages import ToolReturn

    if decision.edit_note is None or isinstance(result, ToolReturn):
        return result
    if isinstance(result, str):
        return with_edit_note(decision, result)
    return ToolReturn(return_value=result, content=decision.edit_note)  # the note as a message of its own


def _capability_class():
    from pydantic_ai.capabilities import HandleDeferredToolCalls

    class CountersignApprovals(HandleDeferredToolCalls):
        """Answers tool approvals from Countersign and reports the approved calls' outcomes."""

        def setup(self, client, options):
            self.client, self.options = client, options
            self.approved = {}  # tool call id → Decision, until the call runs
            return self

        def results(self, requests):
            """The `DeferredToolResults` answering every approval in `requests` (a `DeferredToolRequests`).

            Calls deferred for external execution (`requests.calls`) are not Countersign's to answer and
            are left out. Each proposal is keyed by the tool call's id, so answering again after a crash
            finds the same actions instead of asking twice."""
            from pydantic_ai import DeferredToolResults, ToolApproved, ToolDenied

            calls = requests.approvals
            decisions = decide_safely(
                self.client,
                [(f"pydantic-ai:{call.tool_call_id}", call.tool_name, call.args_as_dict()) for call in calls],
                **self.options,
            )
            answers = {}
            for call, decision in zip(calls, decisions):
                if decision.verdict == "approve":
                    answers[call.tool_call_id] = ToolApproved()
                elif decision.verdict == "edit":
                    answers[call.tool_call_id] = ToolApproved(override_args=decision.args)
                else:
                    answers[call.tool_call_id] = ToolDenied(decision.message)
                if decision.approved:
                    self.approved[call.tool_call_id] = decision
            return DeferredToolResults(approvals=answers)

        async def wrap_tool_execute(self, ctx, *, call, tool_def, args, handler):
            decision = self.approved.pop(call.tool_call_id, None)
            if decision is None:
                return await handler(args)
            try:
                result = await handler(args)
            except Exception as exc:
                report(self.client, decision, error=exc)
                raise
            report(self.client, decision, result=result)
            return _with_edit_note(decision, result)

    return CountersignApprovals


def approvals(client, *, inline=True, action_names=None, wait_timeout=3600.0, **fields):
    """The capability that answers the run's tool approvals from Countersign (a sync `Client`; Pydantic AI
    runs the handler in a worker thread) and reports what the approved calls did. With `inline=False` it
    leaves the approvals to end the run as `DeferredToolRequests` (answer them with `.results()`)."""
    options = {"action_names": action_names, "wait_timeout": wait_timeout, **fields}

    def handle(ctx, requests):
        if not inline or not requests.approvals:
            return None  # declined: external calls are not ours, and inline=False leaves them to the caller
        return capability.results(requests)

    capability = _capability_class()(handler=handle).setup(client, options)
    return capability


def results(client, requests, **options):
    """The `DeferredToolResults` for `requests`; outcomes are reported only for runs that carry the same
    capability, so prefer `approvals(client, inline=False)` and its `.results()`."""
    return approvals(client, inline=False, **options).results(requests)


def run_sync(client, agent, prompt, **options):
    """`agent.run_sync(prompt)` for an agent whose runs end with `DeferredToolRequests`, continued with
    Countersign's answers until the output is something else. Its `output_type` must include
    `DeferredToolRequests`, as Pydantic AI requires."""
    from pydantic_ai import DeferredToolRequests

    capability = approvals(client, inline=False, **options)
    result = agent.run_sync(prompt, capabilities=[capability])
    while isinstance(result.output, DeferredToolRequests):
        answers = capability.results(result.output)
        result = agent.run_sync(
            message_history=result.all_messages(), deferred_tool_results=answers, capabilities=[capability]
        )
    return result


async def run(client, agent, prompt, **options):
    """`run_sync()` for asyncio code; the decisions are awaited in a thread with the sync `client`."""
    from pydantic_ai import DeferredToolRequests

    capability = approvals(client, inline=False, **options)
    result = await agent.run(prompt, capabilities=[capability])
    while isinstance(result.output, DeferredToolRequests):
        answers = await asyncio.to_thread(capability.results, result.output)
        result = await agent.run(
            message_history=result.all_messages(), deferred_tool_results=answers, capabilities=[capability]
        )
    return result
