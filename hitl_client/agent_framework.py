"""Answer Microsoft Agent Framework's function approval requests from Countersign.

    from agent_framework import Agent, tool
    from hitl_client.agent_framework import run

    @tool(approval_mode="always_require")
    def refund(customer: str, amount: float, currency: str) -> str: ...

    response = await run(countersign, Agent(client=..., tools=[refund]), "Refund order 981")

Each `function_approval_request` of a response becomes one proposal (keyed by the function
call's id), and the agent is run again, in the same session, with the approval responses. An
approval response is only a yes or no, so an approval *with edits* is a yes, and the function
middleware `EditedArguments` puts the reviewer's arguments in place before the call runs. The
framework, seeing arguments changed after an approval, asks for a replacement approval of exactly
the new ones; that is answered at once, since a person approved exactly those: the call runs with
the reviewer's arguments, without a second review, and the model is told what the reviewer
changed. A rejection — or anything that broke on the way to a decision — is told to the model in
the same message, beside the framework's own "rejected by user" result. The same middleware reports
each approved call's outcome (its result, or the exception it raised) in the background once it ran.
"""

import asyncio
import json
from typing import TYPE_CHECKING

from hitl_client.review import decide_safely, report

if TYPE_CHECKING:
    from agent_framework import FunctionInvocationContext


def _arguments(call):
    arguments = call.arguments
    if isinstance(arguments, str):
        try:
            return json.loads(arguments or "{}")
        except ValueError:
            return {"arguments": arguments}
    return dict(arguments or {})


def _plain(result):
    """The framework's parsed result (a list of `Content`) as JSON for the report: its text where it is text."""
    if isinstance(result, list) and all(hasattr(item, "type") for item in result):
        if all(item.type == "text" for item in result):
            return "\n".join(item.text or "" for item in result)
        return [item.to_dict() for item in result]
    return result


class EditedArguments:
    """A function middleware that runs a call a reviewer approved with changes with the reviewer's
    arguments, and reports the outcome of every approved call once it ran. `run()` passes one to every
    `agent.run`; if you drive the loop yourself, pass the same one to `responses(..., edits=)` and to
    `agent.run(..., middleware=[edits])`."""

    def __init__(self, client=None):
        self.client = client
        self.to_apply = {}  # call id → the reviewer's arguments, put in place at the call's next run
        self.approved = {}  # call id → the same, until the framework's replacement request is answered
        self.decisions = {}  # call id → Decision of every approved call, until it has run and been reported

    def add(self, call_id, args):
        self.to_apply[call_id] = self.approved[call_id] = dict(args)

    def confirms(self, request):
        """Whether `request` is the framework's replacement approval for exactly the reviewer's arguments."""
        call = request.function_call
        return call.call_id in self.approved and _arguments(call) == self.approved[call.call_id]

    async def __call__(self, context: "FunctionInvocationContext", call_next):
        call_id = context.metadata.get("call_id")
        args = self.to_apply.pop(call_id, None)
        if args is not None:
            context.arguments = args
            # The framework refuses arguments changed after an approval (it asks for a replacement
            # approval, answered by `responses`): the call runs at the next turn, and is reported then.
            await call_next()
            self._report(call_id, result=context.result)
            return
        try:
            await call_next()
        except Exception as exc:
            self._report(call_id, error=exc)
            raise
        self._report(call_id, result=context.result)

    def _report(self, call_id, **outcome):
        if "result" in outcome:
            outcome["result"] = _plain(outcome["result"])
        decision = self.decisions.pop(call_id, None)
        if decision is not None and self.client is not None:
            report(self.client, decision, **outcome)


def responses(client, response, *, edits, action_names=None, wait_timeout=3600.0, **fields):
    """The user `Message` answering every function approval request of `response`, or None if it has none.
    `edits` is the `EditedArguments` middleware the agent runs with."""
    from agent_framework import Content, Message

    requests = [r for r in response.user_input_requests if r.type == "function_approval_request"]
    if not requests:
        return None
    replacements = [r for r in requests if edits.confirms(r)]
    asked = [r for r in requests if r not in replacements]
    calls = [r.function_call for r in asked]
    decisions = decide_safely(
        client,
        [(f"agent-framework:{call.call_id}", call.name, _arguments(call)) for call in calls],
        action_names=action_names,
        wait_timeout=wait_timeout,
        **fields,
    )
    contents = []
    for request in replacements:
        edits.approved.pop(request.function_call.call_id)
        contents.append(request.to_function_approval_response(True))
    notes = []
    for request, decision in zip(asked, decisions):
        contents.append(request.to_function_approval_response(decision.approved))
        name = request.function_call.name
        if decision.approved:
            edits.decisions[request.function_call.call_id] = decision
        if decision.verdict == "edit":
            edits.add(request.function_call.call_id, decision.args)
            notes.append(f"{name}: {decision.edit_note}")
        elif decision.verdict == "reject":
            notes.append(f"{name}: {decision.message}")
    if notes:
        contents.append(Content.from_text("\n".join(notes)))
    return Message(role="user", contents=contents)


async def run(client, agent, messages, *, session=None, **options):
    """`agent.run(messages)`, run again with Countersign's answers until no function approval is pending. The
    decisions are awaited in a thread with the sync `client`; `session` defaults to a new one of the agent's."""
    session = session or agent.create_session()
    edits = EditedArguments(client)
    response = await agent.run(messages, session=session, middleware=[edits])
    while (answer := await asyncio.to_thread(responses, client, response, edits=edits, **options)) is not None:
        response = await agent.run(answer, session=session, middleware=[edits])
    return response
