"""Gate CrewAI's tool calls in Countersign before the tools run.

    from hitl_client.crewai import gate_tool_calls

    gate = gate_tool_calls(countersign, action_names={"refund": "payments.refund"}, tools={"refund"})
    crew.kickoff()
    gate.unregister()   # or `with gate_tool_calls(...):`

CrewAI runs every `before_tool_call` hook before a tool, with the call's input as a mutable dict.
The gate's hook proposes the call and waits for the decision: an approval lets it run, an edit
replaces the input in place (the tool runs with the reviewer's arguments, with no second review),
and a rejection blocks it; the gate's `after_tool_call` hook then replaces CrewAI's "blocked by
hook" result with the reviewer's reason, which the agent's model reads. CrewAI runs the native
tool calls of one turn in parallel threads, so they wait together.
"""

import uuid

from hitl_client.review import decide_calls


class ToolGate:
    """A pair of global CrewAI tool-call hooks that ask Countersign; `tools` limits it to those tool names."""

    def __init__(self, client, *, tools=None, action_names=None, wait_timeout=3600.0, **fields):
        self.client, self.tools = client, tools
        self.options = {"action_names": action_names, "wait_timeout": wait_timeout, **fields}
        self.reasons = {}  # id of a blocked call's input dict → what the model should read instead

    def before(self, context):
        if self.tools is not None and context.tool_name not in self.tools:
            return None
        # CrewAI's hook context carries no call id (1.15: the executor keeps it to itself), so each
        # call is keyed afresh: a crew run again after a crash proposes its calls again.
        key = f"crewai:{uuid.uuid4()}"
        [decision] = decide_calls(self.client, [(key, context.tool_name, dict(context.tool_input))], **self.options)
        if decision.verdict == "reject":
            self.reasons[id(context.tool_input)] = f"A reviewer rejected {context.tool_name}: {decision.message}"
            return False
        if decision.verdict == "edit":
            context.tool_input.clear()
            context.tool_input.update(decision.args)  # CrewAI runs the tool with this same dict
        return None

    def after(self, context):
        return self.reasons.pop(id(context.tool_input), None)

    def register(self):
        from crewai.hooks import register_after_tool_call_hook, register_before_tool_call_hook

        register_before_tool_call_hook(self.before)
        register_after_tool_call_hook(self.after)
        return self

    def unregister(self):
        from crewai.hooks import unregister_after_tool_call_hook, unregister_before_tool_call_hook

        unregister_before_tool_call_hook(self.before)
        unregister_after_tool_call_hook(self.after)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unregister()


def gate_tool_calls(client, **options):
    """Register a `ToolGate` for every crew in this process (a sync `client`); returns it, to unregister."""
    return ToolGate(client, **options).register()
