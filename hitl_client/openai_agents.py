"""Answer the OpenAI Agents SDK's tool-approval interruptions from Countersign.

    from hitl_client.openai_agents import run_sync

    result = run_sync(client, agent, "Refund order 981")   # tools declared with needs_approval=True

Each interruption (a `ToolApprovalItem`) becomes one proposal, keyed by the tool call's id; the
run's `RunState` is approved or rejected from the decisions and the run resumes. The SDK cannot
run a tool with arguments other than the model's, so an approval *with edits* is answered as a
rejection whose message gives the approved arguments, and Countersign is asked to let the model's
repeated call with exactly those arguments through once (`Client.repeat`): it runs without a
second review (unless the type is irreversible, which is reviewed every time).
"""

import asyncio
import json

from hitl_client.errors import Conflict
from hitl_client.review import edited_call_message, propose_tool_calls, verdict_for


def _arguments(item):
    try:
        return json.loads(item.arguments or "{}")
    except ValueError:
        return {"arguments": item.arguments}


def allow_repeat(client, action):
    """Ask Countersign to let the model's repeated call with the reviewer's arguments through once;
    False where it will be reviewed again (an irreversible type)."""
    try:
        client.repeat(action["id"])
    except Conflict:
        return False
    return True


def decide(client, result, *, action_names=None, wait_timeout=3600.0, **fields):
    """The run's state with every pending tool approval decided by Countersign (a sync `Client`)."""
    state = result.to_state()
    items = state.get_interruptions()
    proposed = [
        propose_tool_calls(
            client, [(item.tool_name, _arguments(item))], f"openai-agents:{item.call_id}", action_names, fields
        )[0]
        for item in items
    ]
    for item, action in zip(items, proposed):
        verdict, args, message = verdict_for(client, action, wait_timeout)
        if verdict == "approve":
            state.approve(item)
        elif verdict == "edit":
            message = edited_call_message(item.tool_name, args, repeat_allowed=allow_repeat(client, action))
            state.reject(item, rejection_message=message)
        else:
            state.reject(item, rejection_message=message)
    return state


def run_sync(client, agent, run_input, **options):
    """`Runner.run_sync`, resumed through Countersign until no tool approval is pending."""
    from agents import Runner

    result = Runner.run_sync(agent, run_input)
    while result.interruptions:
        result = Runner.run_sync(agent, decide(client, result, **options))
    return result


async def run(client, agent, run_input, **options):
    """`Runner.run` for asyncio agents; the decisions are awaited in a thread with the sync `client`."""
    from agents import Runner

    result = await Runner.run(agent, run_input)
    while result.interruptions:
        state = await asyncio.to_thread(decide, client, result, **options)
        result = await Runner.run(agent, state)
    return result
