"""Answer the OpenAI Agents SDK's tool-approval interruptions from Countersign.

    from hitl_client.openai_agents import run_sync

    result = run_sync(client, agent, "Refund order 981")   # tools declared with needs_approval=True

Each interruption (a `ToolApprovalItem`) becomes one proposal, keyed by the tool call's id; the
run's `RunState` is approved or rejected from the decisions and the run resumes. `RunState.approve()`
takes no arguments, so `run_sync()` and `run()` run the agent with its function tools wrapped: the
wrapper (around each `FunctionTool.on_invoke_tool`) runs an approved call with the reviewer's
arguments when they edited it — no second review, irreversible types included, and no help from the
model — starts the tool's output with what the reviewer changed, and reports the outcome. A
rejection, or anything that breaks on the way to a decision, rejects the call with a message that
says why, which the model reads. Driving the loop yourself: run `gate.wrap(agent)` and resume with
`gate.decide(result)` of one `Gate(client, ...)`.
"""

import asyncio
import copy
import json

from hitl_client.review import decide_safely, report, with_edit_note


def _arguments(item):
    try:
        return json.loads(item.arguments or "{}")
    except ValueError:
        return {"arguments": item.arguments}


class Gate:
    """The decisions of one run, by tool call id, and the tool wrapper that carries them out."""

    def __init__(self, client, *, action_names=None, wait_timeout=3600.0, **fields):
        self.client = client
        self.options = {"action_names": action_names, "wait_timeout": wait_timeout, **fields}
        self.approved = {}  # tool call id → Decision, until the call runs

    def wrap(self, agent):
        """A clone of `agent` whose function tools run approved calls as decided and report them."""
        from agents import FunctionTool

        return agent.clone(tools=[self._wrap(t) if isinstance(t, FunctionTool) else t for t in agent.tools])

    def _wrap(self, tool):
        original = tool.on_invoke_tool
        # The SDK's invoker turns a raised exception into text for the model (its failure_error_function),
        # which would hide the failure from the report: call the implementation beneath it where the
        # installed version has one, and apply that same failure policy ourselves.
        implementation = getattr(original, "_invoke_tool_impl", None)

        async def invoke(ctx, arguments):
            decision = self.approved.pop(getattr(ctx, "tool_call_id", None), None)
            if decision is None:
                return await original(ctx, arguments)
            arguments = json.dumps(decision.args)  # the reviewer's where they edited, else the model's own
            if implementation is None:
                result = await original(ctx, arguments)
            else:
                try:
                    result = await implementation(ctx, arguments)
                except Exception as exc:
                    report(self.client, decision, error=exc)
                    return await _failure_output(wrapped, ctx, exc)
            report(self.client, decision, result=result)
            return with_edit_note(decision, result) if isinstance(result, str) else result

        wrapped = copy.copy(tool)
        wrapped.on_invoke_tool = invoke
        return wrapped

    def decide(self, result):
        """The run's state with every pending tool approval decided by Countersign (a sync `Client`)."""
        state = result.to_state()
        items = state.get_interruptions()
        decisions = decide_safely(
            self.client,
            [(f"openai-agents:{item.call_id}", item.tool_name, _arguments(item)) for item in items],
            **self.options,
        )
        for item, decision in zip(items, decisions):
            if decision.approved:
                self.approved[item.call_id] = decision
                state.approve(item)
            else:
                state.reject(item, rejection_message=decision.message)
        return state


async def _failure_output(tool, ctx, exc):
    """What the SDK would have told the model for this exception (its tool's failure_error_function)."""
    from agents.tool import maybe_invoke_function_tool_failure_error_function

    output = await maybe_invoke_function_tool_failure_error_function(function_tool=tool, context=ctx, error=exc)
    if output is None:
        raise exc
    return output


def run_sync(client, agent, run_input, **options):
    """`Runner.run_sync`, resumed through Countersign until no tool approval is pending."""
    from agents import Runner

    gate = Gate(client, **options)
    agent = gate.wrap(agent)
    result = Runner.run_sync(agent, run_input)
    while result.interruptions:
        result = Runner.run_sync(agent, gate.decide(result))
    return result


async def run(client, agent, run_input, **options):
    """`Runner.run` for asyncio agents; the decisions are awaited in a thread with the sync `client`."""
    from agents import Runner

    gate = Gate(client, **options)
    agent = gate.wrap(agent)
    result = await Runner.run(agent, run_input)
    while result.interruptions:
        state = await asyncio.to_thread(gate.decide, result)
        result = await Runner.run(agent, state)
    return result
