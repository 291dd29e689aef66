"""An OpenAI Agents SDK agent whose tool approvals are decided in Countersign.

The refund tool is declared with `needs_approval=True`, as the SDK expects; `run_sync` proposes
each tool-approval interruption and approves or rejects the run's state from the decision. It runs
the agent with its tools wrapped, so an amount you edit is the amount refunded (the model is told
what you changed) and the outcome is reported. A
scripted model stands in for a real one, so this runs without an API key: drop `model=` to use
OpenAI's.

Run `make run`, then `.venv/bin/python examples/openai_agents_refund.py`, and decide in the inbox.
"""

import json
import os

from agents import Agent, function_tool, set_tracing_disabled
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from hitl_client import Client
from hitl_client.openai_agents import run_sync

set_tracing_disabled(True)


class ScriptedModel(Model):
    """Asks for one refund, then repeats what the tool (or the reviewer) said."""

    async def get_response(self, system_instructions, input, *args, **kwargs):
        outputs = [i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if not outputs:
            arguments = json.dumps({"customer": "cus_123", "amount": 750, "currency": "USD", "order": "981"})
            call = ResponseFunctionToolCall(
                type="function_call", call_id="call_981", name="refund", arguments=arguments, id="fc_1"
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = ResponseOutputText(type="output_text", text=str(outputs[-1]["output"]), annotations=[])
        message = ResponseOutputMessage(type="message", id="m_1", role="assistant", status="completed", content=[text])
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


@function_tool(needs_approval=True)
def refund(customer: str, amount: float, currency: str, order: str) -> str:
    """Refund a customer's payment."""
    return f"Refunded {amount} {currency} to {customer} for order {order}."


agent = Agent(name="billing", instructions="Refund double charges.", tools=[refund], model=ScriptedModel())

if __name__ == "__main__":
    with Client(
        os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
        os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    ) as countersign:
        print("Waiting for a person to decide in the inbox…", flush=True)
        result = run_sync(
            countersign, agent, "Order 981 was charged twice.", action_names={"refund": "payments.refund"}
        )
    print("Agent:", result.final_output)
