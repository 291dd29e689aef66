"""Decide the Claude Agent SDK's tool permissions in Countersign, and report what the tools did.

    from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient
    from hitl_client.claude_agent_sdk import options

    settings = ClaudeAgentOptions(**options(countersign, action_names={"Bash": "shell.run"}))
    async with ClaudeSDKClient(settings) as claude: ...

`options()` gives a `can_use_tool` callback and `hooks`. Each tool Claude asks permission for
becomes one proposal, keyed by its `tool_use_id`; the callback answers when a person has decided:
allow (with the reviewer's `updated_input` when they edited it, which the tool then runs with, with
no second review) or deny with a message saying why — the reviewer's reason, or what broke on the
way to a decision (Countersign down, a refused token or arguments, nobody deciding in time, an
error in the adapter) — which Claude reads. The `PostToolUse` and `PostToolUseFailure` hooks report
each approved call's outcome in the background and, after an edited call, give Claude what the
reviewer changed as `additionalContext`. Calls of one turn are asked for concurrently, so they wait
together. Tools that your permission rules already allow never reach the callback.
"""

import asyncio
import uuid

from hitl_client.review import decide_safely, failure_message, rejection, report


class Gate:
    """The `can_use_tool` callback and the post-tool hooks, sharing the approved calls by `tool_use_id`."""

    def __init__(self, client, *, action_names=None, wait_timeout=3600.0, **fields):
        self.client = client
        self.options = {"action_names": action_names, "wait_timeout": wait_timeout, **fields}
        self.approved = {}  # tool_use_id → Decision, until its post-tool hook

    async def can_use_tool(self, tool_name, tool_input, context):
        """Decided with the sync client in a worker thread, so other calls of the turn are proposed meanwhile."""
        from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

        try:
            key = f"claude:{context.tool_use_id or uuid.uuid4()}"
            [decision] = await asyncio.to_thread(
                decide_safely, self.client, [(key, tool_name, tool_input)], **self.options
            )
        except Exception as exc:  # the SDK would answer the CLI with an error: deny, saying why, instead
            decision = rejection(failure_message(exc))
        if not decision.approved:
            return PermissionResultDeny(message=decision.message)
        if context.tool_use_id:
            self.approved[context.tool_use_id] = decision
        return PermissionResultAllow(updated_input=decision.args)

    async def after_tool(self, hook_input, tool_use_id, context):
        decision = self.approved.pop(hook_input.get("tool_use_id") or tool_use_id, None)
        if decision is None:
            return {}
        if hook_input.get("hook_event_name") == "PostToolUseFailure":
            report(self.client, decision, error=hook_input.get("error") or "the tool failed")
            return {}
        report(self.client, decision, result=hook_input.get("tool_response"))
        if decision.edit_note is None:
            return {}
        return {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": decision.edit_note}}

    @property
    def hooks(self):
        from claude_agent_sdk import HookMatcher

        return {
            "PostToolUse": [HookMatcher(hooks=[self.after_tool])],
            "PostToolUseFailure": [HookMatcher(hooks=[self.after_tool])],
        }


def options(client, **gate_options):
    """`can_use_tool` and `hooks` for `ClaudeAgentOptions(**options(client, ...))` (a sync `client`). Merge
    the hooks with your own if you have any: `{**yours, **options(...)["hooks"]}` per event."""
    gate = Gate(client, **gate_options)
    return {"can_use_tool": gate.can_use_tool, "hooks": gate.hooks}


def can_use_tool(client, **gate_options):
    """The permission callback alone: decisions without outcome reports or edit notes. Prefer `options()`."""
    return Gate(client, **gate_options).can_use_tool
