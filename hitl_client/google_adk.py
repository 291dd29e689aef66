"""Answer Google ADK's tool confirmations from Countersign.

    from hitl_client.google_adk import run

    agent = Agent(model=..., tools=[FunctionTool(refund, require_confirmation=True)])
    runner = InMemoryRunner(agent)
    events = await run(countersign, runner, user_id="u1", session_id=session.id, new_message=message)

ADK pauses a tool declared with `require_confirmation` (or one that calls
`tool_context.request_confirmation()`) with an `adk_request_confirmation` call. `run()` drives the
runner, proposes every confirmation a turn asks for (keyed by the original call's id), and answers
them all in one message with a `ToolConfirmation` whose payload carries the decision
(`{"countersign": {"verdict", "args", "message"}}`). ADK's confirmation is a yes or no, so `run()`
also installs `CountersignPlugin` on the runner, which applies the payload when the tool is called
again: an edit replaces the call's arguments (it runs as edited, with no second review) and a
rejection answers the model with the reviewer's reason instead of ADK's fixed "rejected" message.
A tool that asks for confirmation itself finds the same payload in `tool_context.tool_confirmation`.
"""

import asyncio

from hitl_client.review import decide_calls

CONFIRMATION = "adk_request_confirmation"  # the function call name ADK pauses a tool call with


def _plugin_class():
    from google.adk.plugins.base_plugin import BasePlugin

    class CountersignPlugin(BasePlugin):
        """Applies a Countersign decision carried in a tool's confirmation: the edited arguments, or the reason."""

        def __init__(self):
            super().__init__(name="countersign")

        async def before_tool_callback(self, *, tool, tool_args, tool_context):
            confirmation = tool_context.tool_confirmation
            payload = confirmation.payload if confirmation is not None else None
            decision = payload.get("countersign") if isinstance(payload, dict) else None
            if decision is None:
                return None
            if not confirmation.confirmed:
                return {"error": f"A reviewer rejected this call: {decision['message']}"}
            tool_args.clear()
            tool_args.update(decision["args"])  # ADK runs the tool with this same dict
            return None

    return CountersignPlugin


def plugin():
    """The plugin that applies decisions; `run()` installs it, or pass it in `App(plugins=[...])`."""
    return _plugin_class()()


def confirmation_requests(events):
    """(confirmation call id, the original call as {"id", "name", "args"}) for every confirmation asked for."""
    return [
        (call.id, call.args["originalFunctionCall"])
        for event in events
        for call in event.get_function_calls()
        if call.name == CONFIRMATION
    ]


def answers(client, events, *, action_names=None, wait_timeout=3600.0, **fields):
    """The user message answering every confirmation in `events` (a turn's events), or None if there is none."""
    from google.genai import types

    requests = confirmation_requests(events)
    if not requests:
        return None
    decisions = decide_calls(
        client,
        [(f"google-adk:{call['id']}", call["name"], call.get("args") or {}) for _, call in requests],
        action_names=action_names,
        wait_timeout=wait_timeout,
        **fields,
    )
    parts = [
        types.Part(
            function_response=types.FunctionResponse(
                id=confirmation_id,
                name=CONFIRMATION,
                response={"confirmed": decision.approved, "payload": {"countersign": decision._asdict()}},
            )
        )
        for (confirmation_id, _), decision in zip(requests, decisions)
    ]
    return types.Content(role="user", parts=parts)


def _install_plugin(runner):
    if runner.plugin_manager.get_plugin("countersign") is None:
        runner.plugin_manager.register_plugin(plugin())


async def run(client, runner, *, user_id, session_id, new_message, **options):
    """Every event of the conversation turn, its tool confirmations answered through Countersign (a sync
    `client`, waited on in a thread) until the agent asks for none."""
    _install_plugin(runner)
    events, message = [], new_message
    while message is not None:
        turn = [
            event async for event in runner.run_async(user_id=user_id, session_id=session_id, new_message=message)
        ]
        events += turn
        message = await asyncio.to_thread(answers, client, turn, **options)
    return events
