"""A Google ADK agent whose refund tool has `require_confirmation=True`, confirmed in Countersign.

`hitl_client.google_adk.run` drives the runner and answers ADK's confirmation request with your
decision: approve it, edit the amount (the tool runs with yours) or reject it (the model reads
your reason). A scripted BaseLlm stands in for Gemini, so this runs without an API key: pass
`model="gemini-…"` instead.

Run `make run`, then `.venv/bin/python examples/google_adk_refund.py`, and decide in the inbox.
"""

import asyncio
import os

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import InMemoryRunner
from google.adk.tools import FunctionTool
from google.genai import types

from hitl_client import Client
from hitl_client.google_adk import run


class ScriptedLlm(BaseLlm):
    """Asks for one refund, then repeats what the tool (or the reviewer) answered."""

    async def generate_content_async(self, llm_request, stream=False):
        answers = [p.function_response.response for p in llm_request.contents[-1].parts if p.function_response]
        if answers:
            part = types.Part(text=" ".join(str(a.get("result", a.get("error"))) for a in answers))
        else:
            refund = {"customer": "cus_123", "amount": 750, "currency": "USD"}
            part = types.Part(function_call=types.FunctionCall(name="refund", args=refund))
        yield LlmResponse(content=types.Content(role="model", parts=[part]))


def refund(customer: str, amount: float, currency: str) -> str:
    """Refund a customer's payment."""
    return f"Refunded {amount} {currency} to {customer}."


async def main(countersign):
    agent = LlmAgent(
        name="billing", model=ScriptedLlm(model="scripted"), tools=[FunctionTool(refund, require_confirmation=True)]
    )
    runner = InMemoryRunner(agent, app_name="billing")
    session = await runner.session_service.create_session(app_name="billing", user_id="ann")
    message = types.Content(role="user", parts=[types.Part(text="Order 981 was charged twice.")])
    events = await run(
        countersign,
        runner,
        user_id="ann",
        session_id=session.id,
        new_message=message,
        action_names={"refund": "payments.refund"},
    )
    return [p.text for e in events if e.content for p in e.content.parts or [] if p.text][-1]


if __name__ == "__main__":
    with Client(
        os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
        os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    ) as countersign:
        print("Waiting for a person to decide in the inbox…", flush=True)
        print("Agent:", asyncio.run(main(countersign)))
