"""Answer Google ADK's tool confirmations from Countersign.

    from hitl_client.google_adk import run

    agent = Agent(model=..., tools=[FunctionTool(refund, require_confirmation=True)])
    runner = InMemoryRunner(agent)
    events = await run(countersign, runner, user_id="u1", session_id=session.id, new_message=message)

ADK pauses a tool declared with `require_confirmation` (or one that calls
`tool_context.request_confirmation()`) with an `adk_request_confirmation` call. `run()` drives the
runner, proposes every confirmation a turn asks for (keyed by the original call's id), and answers
them all in one message with a `ToolConfirmation` whose payload carries the decision
(`{"countersign": {"verdict", "args", "message", "action_id", "changes"}}`). ADK's confirmation is a
yes or no, so `run()` also installs `CountersignPlugin` on the runner, which applies the payload when
the tool is called again: an edit replaces the call's arguments (it runs as edited, with no second
review) and a rejection — or anything that broke on the way to a decision — answers the model with
the reason instead of ADK's fixed "rejected" message. After the tool, the plugin reports its result
(or its exception) in the background and puts what a reviewer changed before an edited call's result.
A tool that asks for confirmation itself finds the same payload in `tool_context.tool_confirmation`.
"""

import asyncio

from hitl_client.review import NOT_RUN, Decision, decide_safely, report, with_edit_note

CONFIRMATION = "adk_request_confirmation"  # the function call name ADK pauses a tool call with


def _plugin_class():
    from google.adk.plugins.base_plugin import BasePlugin

    class CountersignPlugin(BasePlugin):
        """Applies a Countersign decision carried in a tool's confirmation (the edited arguments, or the
        reason it did not run), then reports the approved call's outcome and tells the model of an edit."""

        def __init__(self, client=None):
            super().__init__(name="countersign")
            self.client = client
            self.approved = {}  # function call id → Decision, until the call has run

        async def before_tool_callback(self, *, tool, tool_args, tool_context):
            confirmation = tool_context.tool_confirmation
            payload = confirmation.payload if confirmation is not None else None
            carried = payload.get("countersign") if isinstance(payload, dict) else None
            if carried is None:
                return None
            decision = Decision(**carried)
            if not confirmation.confirmed or not decision.approved:
                return {"error": decision.message or f"{NOT_RUN}the confirmation was declined."}
            tool_args.clear()
            tool_args.update(decision.args)  # ADK runs the tool with this same dict
            self.approved[tool_context.function_call_id] = decision
            return None

        async def after_tool_callback(self, *, tool, tool_args, tool_context, result):
            decision = self.approved.pop(tool_context.function_call_id, None)
            if decision is None:
                return None
            if self.client is not None:
                report(self.client, decision, result=result)
            note = decision.edit_note
            if note is None:
                return None
            if isinstance(result, str):  # ADK wraps a plain result as {"result": ...} for the model
                return {"result": with_edit_note(decision, result)}
            if isinstance(result, dict) and isinstance(result.get("result"), str):
                return {**result, "result": with_edit_note(decision, result["result"])}
            return (
                {**result, "countersign": note} if isinstance(result, dict) else {"result": result, "countersign": note}
            )

        async def on_tool_error_callback(self, *, tool, tool_args, tool_context, error):
            decision = self.approved.pop(tool_context.function_call_id, None)
            if decision is not None and self.client is not None:
                report(self.client, decision, error=error)
            return None  # ADK's own handling of the exception goes on

    return CountersignPlugin


def plugin(client=None):
    """The plugin that applies decisions and reports outcomes through `client` (a sync `Client`); `run()`
    installs it, or pass it in `App(plugins=[...])`."""
    return _plugin_class()(client)


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
    decisions = decide_safely(
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


def _install_plugin(runner, client):
    if runner.plugin_manager.get_plugin("countersign") is None:
        runner.plugin_manager.register_plugin(plugin(client))


async def run(client, runner, *, user_id, session_id, new_message, **options):
    """Every event of the conversation turn, its tool confirmations answered through Countersign (a sync
    `client`, waited on in a thread) until the agent asks for none."""
    _install_plugin(runner, client)
    events, message = [], new_message
    while message is not None:
        turn = [event async for event in runner.run_async(user_id=user_id, session_id=session_id, new_message=message)]
        events += turn
        message = await asyncio.to_thread(answers, client, turn, **options)
    return events
