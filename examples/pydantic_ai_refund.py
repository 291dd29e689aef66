"""A Pydantic AI agent whose refund tool `requires_approval`, decided in Countersign.

The `approvals(countersign)` capability answers the deferred call inline: approve it, edit the
amount (the tool runs with yours, no second review) or reject it (the model reads your reason).
A FunctionModel script stands in for a real model, so this runs without an API key: pass any
model name instead.

Run `make run`, then `.venv/bin/python examples/pydantic_ai_refund.py`, and decide in the inbox.
"""

import os
import uuid

from pydantic_ai import Agent, Tool
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import FunctionModel

from hitl_client import Client
from hitl_client.pydantic_ai import approvals


def scripted_model(messages, info):
    """Asks for one refund, then repeats what the tool (or the reviewer) answered."""
    if len(messages) == 1:
        refund = {"customer": "cus_123", "amount": 750, "currency": "USD"}
        return ModelResponse(parts=[ToolCallPart("refund", refund, tool_call_id=f"call_{uuid.uuid4().hex[:8]}")])
    return ModelResponse(parts=[TextPart(" ".join(str(p.content) for p in messages[-1].parts))])


def refund(customer: str, amount: float, currency: str) -> str:
    """Refund a customer's payment."""
    return f"Refunded {amount} {currency} to {customer}."


if __name__ == "__main__":
    with Client(
        os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
        os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    ) as countersign:
        agent = Agent(
            FunctionModel(scripted_model),
            tools=[Tool(refund, requires_approval=True)],
            capabilities=[approvals(countersign, action_names={"refund": "payments.refund"})],
        )
        print("Waiting for a person to decide in the inbox…", flush=True)
        print("Agent:", agent.run_sync("Order 981 was charged twice.").output)
