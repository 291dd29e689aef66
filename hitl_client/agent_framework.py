"""Answer Microsoft Agent Framework's function approval requests from Countersign.

    from agent_framework import Agent, tool
    from hitl_client.agent_framework import run

    @tool(approval_mode="always_require")
    def refund(customer: str, amount: float, currency: str) -> str: ...

    response = await run(countersign, Agent(client=..., tools=[refund]), "Refund order 981")

Each `function_approval_request` of a response becomes one proposal (keyed by the function
call's id), and the agent is run again, in the same session, with the approval responses. An
approval response is a yes or no: the framework runs the call it recorded, whatever arguments
the response carries. So an approval *with edits* is answered as a rejection, and the model is told
the approved arguments to call again with (that call is reviewed again); a rejection's reason is
told to the model in the same message, beside the framework's own "rejected by user" result.
"""

import asyncio
import json

from hitl_client.review import decide_calls, edited_call_message


def _arguments(call):
    arguments = call.arguments
    if isinstance(arguments, str):
        try:
            return json.loads(arguments or "{}")
        except ValueError:
            return {"arguments": arguments}
    return dict(arguments or {})


def responses(client, response, *, action_names=None, wait_timeout=3600.0, **fields):
    """The user `Message` answering every function approval request of `response`, or None if it has none."""
    from agent_framework import Content, Message

    requests = [r for r in response.user_input_requests if r.type == "function_approval_request"]
    if not requests:
        return None
    decisions = decide_calls(
        client,
        [
            (f"agent-framework:{r.function_call.call_id}", r.function_call.name, _arguments(r.function_call))
            for r in requests
        ],
        action_names=action_names,
        wait_timeout=wait_timeout,
        **fields,
    )
    contents, notes = [], []
    for request, decision in zip(requests, decisions):
        contents.append(request.to_function_approval_response(decision.verdict == "approve"))
        name = request.function_call.name
        if decision.verdict == "edit":
            notes.append(edited_call_message(name, decision.args))
        elif decision.verdict == "reject":
            notes.append(f"A reviewer rejected {name}: {decision.message}")
    if notes:
        contents.append(Content.from_text("\n".join(notes)))
    return Message(role="user", contents=contents)


async def run(client, agent, messages, *, session=None, **options):
    """`agent.run(messages)`, run again with Countersign's answers until no function approval is pending. The
    decisions are awaited in a thread with the sync `client`; `session` defaults to a new one of the agent's."""
    session = session or agent.create_session()
    response = await agent.run(messages, session=session)
    while (answer := await asyncio.to_thread(responses, client, response, **options)) is not None:
        response = await agent.run(answer, session=session)
    return response
