"""A CrewAI crew whose refund tool is gated in Countersign before it runs.

`gate_tool_calls` registers CrewAI before/after tool-call hooks that propose each call and wait
for your decision: approve it, edit the amount (the tool runs with yours) or reject it (the agent
reads your reason). A scripted LLM stands in for a real one, so this runs without an API key:
pass any `llm=` instead.

CrewAI's pins clash with the other frameworks here (see docs/integrating.md), so it lives in a
virtualenv of its own: `python3 -m venv .run/venvs/crewai && .run/venvs/crewai/bin/pip install
-e './hitl_client[crewai]'`. Run `make run`, then `CREWAI_DISABLE_TELEMETRY=true
OTEL_SDK_DISABLED=true .run/venvs/crewai/bin/python examples/crewai_refund.py` (without those,
CrewAI sends telemetry), and decide in the inbox.
"""

import json
import os
import uuid

from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM
from crewai.tools import tool

from hitl_client import Client
from hitl_client.crewai import gate_tool_calls


class ScriptedLLM(BaseLLM):
    """Calls the scripted tools with native tool calls, then repeats what the tools answered."""

    calls: list = []

    def supports_function_calling(self):
        return True

    def call(self, messages, tools=None, callbacks=None, available_functions=None, **kwargs):
        answered = [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]
        if not answered and tools:
            return [
                {
                    "id": f"call_{uuid.uuid4().hex[:8]}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for name, args in self.calls
            ]
        return " | ".join(str(m["content"]) for m in answered)


@tool("refund")
def refund(customer: str, amount: float, currency: str) -> str:
    """Refund a customer's payment."""
    return f"Refunded {amount} {currency} to {customer}."


def crew(llm, tools):
    agent = Agent(role="Billing", goal="Fix double charges", backstory="Careful.", llm=llm, tools=tools)
    task = Task(description="Order 981 was charged twice.", expected_output="What was done", agent=agent)
    return Crew(agents=[agent], tasks=[task])


if __name__ == "__main__":
    llm = ScriptedLLM(model="scripted", calls=[("refund", {"customer": "cus_123", "amount": 750, "currency": "USD"})])
    with (
        Client(
            os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
            os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
        ) as countersign,
        gate_tool_calls(countersign, action_names={"refund": "payments.refund"}),
    ):
        print("Waiting for a person to decide in the inbox…", flush=True)
        print("Crew:", crew(llm, [refund]).kickoff().raw)
