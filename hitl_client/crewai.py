"""Gate CrewAI's tool calls in Countersign before the tools run.

    from hitl_client.crewai import gate_tool_calls

    gate = gate_tool_calls(countersign, action_names={"refund": "payments.refund"}, tools={"refund"})
    crew.kickoff()
    gate.unregister()   # or `with gate_tool_calls(...):`

CrewAI runs every `before_tool_call` hook before a tool, with the call's input as a mutable dict.
The gate's hook proposes the call and waits for the decision: an approval lets it run, an edit
replaces the input in place (the tool runs with the reviewer's arguments, with no second review),
and a rejection blocks it. CrewAI blocks a tool only when a hook returns False (or raises its own
`HookAborted`); any other exception a hook raises is swallowed and the tool runs. So the hook
never raises: every failure on the way to a decision is a rejection, returned as False.

The gate's `after_tool_call` hook then shapes what the model reads: a blocked call's "blocked by
hook" result becomes the reason it did not run, and an edited call's result starts with what the
reviewer changed. It also reports the outcome of each approved call in the background: failed when
CrewAI's result is its "Error executing tool: …" text (the hooks see no other sign of a failure),
else executed with the result. CrewAI runs the native tool calls of one turn in parallel threads,
so they wait together.
"""

import logging
import uuid

from hitl_client.review import decide_safely, failure_message, report, with_edit_note

logger = logging.getLogger("hitl_client")

FAILED_PREFIXES = ("Error executing tool:",)  # how CrewAI 1.15 words a tool that raised, in both paths


class ToolGate:
    """A pair of global CrewAI tool-call hooks that ask Countersign; `tools` limits it to those tool names."""

    def __init__(self, client, *, tools=None, action_names=None, wait_timeout=3600.0, **fields):
        self.client, self.tools = client, tools
        self.options = {"action_names": action_names, "wait_timeout": wait_timeout, **fields}
        # id of a call's input dict (the same object in the before and after hooks) → what to do after it
        self.blocked = {}
        self.approved = {}

    def before(self, context):
        try:
            if self.tools is not None and context.tool_name not in self.tools:
                return None
            return self._decide(context)
        except Exception as exc:  # anything at all: block, never let CrewAI swallow it and run the tool
            self.blocked[id(context.tool_input)] = failure_message(exc)
            return False

    def _decide(self, context):
        # CrewAI's hook context carries no call id (1.15: the executor keeps it to itself), so each
        # call is keyed afresh: a crew run again after a crash proposes its calls again.
        key = f"crewai:{uuid.uuid4()}"
        [decision] = decide_safely(self.client, [(key, context.tool_name, dict(context.tool_input))], **self.options)
        if not decision.approved:
            self.blocked[id(context.tool_input)] = decision.message
            return False
        if decision.verdict == "edit":
            context.tool_input.clear()
            context.tool_input.update(decision.args)  # CrewAI runs the tool with this same dict
        self.approved[id(context.tool_input)] = decision
        return None

    def after(self, context):
        message = self.blocked.pop(id(context.tool_input), None)
        if message is not None:
            return message
        decision = self.approved.pop(id(context.tool_input), None)
        if decision is None:
            return None
        result = context.tool_result
        if isinstance(result, str) and result.startswith(FAILED_PREFIXES):
            report(self.client, decision, error=result)
        else:
            report(
                self.client, decision, result=context.raw_tool_result if context.raw_tool_result is not None else result
            )
        return with_edit_note(decision, result)

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
