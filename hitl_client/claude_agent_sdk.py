"""Decide the Claude Agent SDK's tool permissions in Countersign.

    from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient
    from hitl_client.claude_agent_sdk import can_use_tool

    options = ClaudeAgentOptions(can_use_tool=can_use_tool(countersign, action_names={"Bash": "shell.run"}))
    async with ClaudeSDKClient(options) as claude: ...

Each tool Claude asks permission for becomes one proposal, keyed by its `tool_use_id`; the
callback answers when a person has decided: allow (with the reviewer's `updated_input` when they
edited it, which the tool then runs with, with no second review) or deny with the reviewer's
reason, which Claude reads. Calls of one turn are asked for concurrently, so they wait together.
Tools that your permission rules already allow never reach the callback.
"""

import asyncio
import uuid

from hitl_client.review import decide_calls


def can_use_tool(client, *, action_names=None, wait_timeout=3600.0, **fields):
    """An async `can_use_tool` callback for `ClaudeAgentOptions`, deciding with the sync `client` (in a
    worker thread, so other calls of the turn are proposed meanwhile)."""
    from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

    async def decide(tool_name, tool_input, context):
        key = f"claude:{context.tool_use_id or uuid.uuid4()}"
        [decision] = await asyncio.to_thread(
            decide_calls,
            client,
            [(key, tool_name, tool_input)],
            action_names=action_names,
            wait_timeout=wait_timeout,
            **fields,
        )
        if decision.approved:
            return PermissionResultAllow(updated_input=decision.args)
        return PermissionResultDeny(message=decision.message)

    return decide
