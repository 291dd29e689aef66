"""A Microsoft Agent Framework agent whose refund tool has `approval_mode="always_require"`.

`hitl_client.agent_framework.run` answers each function approval request from your decision and
runs the agent again: approve it and it runs; edit it and it runs with your arguments; reject it
and the model reads your reason. A scripted chat client stands in for a real one, so this runs
without an API key: pass any chat client instead.

Run `make run`, then `.venv/bin/python examples/agent_framework_refund.py`, and decide in the inbox.
"""

import asyncio
import json
import os
import uuid

from agent_framework import Agent, BaseChatClient, ChatResponse, Content, FunctionInvocationLayer, Message, tool

from hitl_client import Client
from hitl_client.agent_framework import run


class ScriptedClient(FunctionInvocationLayer, BaseChatClient):
    """Asks for one refund, then repeats what it was told after that."""

    async def _inner_get_response(self, *, messages, stream, options, **kwargs):
        called = [i for i, m in enumerate(messages) if any(c.type == "function_call" for c in m.contents)]
        if not called:
            arguments = json.dumps({"customer": "cus_123", "amount": 750, "currency": "USD"})
            call_id = f"call_{uuid.uuid4().hex[:8]}"
            contents = [Content.from_function_call(call_id=call_id, name="refund", arguments=arguments)]
        else:
            told = [
                str(c.result) if c.type == "function_result" else c.text
                for m in messages[called[-1] + 1 :]
                for c in m.contents
                if c.type in ("function_result", "text")
            ]
            contents = [Content.from_text(" ".join(told))]
        return ChatResponse(messages=[Message(role="assistant", contents=contents)])


@tool(approval_mode="always_require")
def refund(customer: str, amount: float, currency: str) -> str:
    """Refund a customer's payment."""
    return f"Refunded {amount} {currency} to {customer}."


if __name__ == "__main__":
    with Client(
        os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
        os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    ) as countersign:
        print("Waiting for a person to decide in the inbox…", flush=True)
        agent = Agent(client=ScriptedClient(), tools=[refund])
        response = asyncio.run(
            run(countersign, agent, "Order 981 was charged twice.", action_names={"refund": "payments.refund"})
        )
        print("Agent:", response.text)
