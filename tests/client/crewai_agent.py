"""A CrewAI crew run by tests/client/test_crewai.py in CrewAI's own virtualenv: `python crewai_agent.py
CALLS_JSON` makes the scripted LLM call those tools once, gated in Countersign (COUNTERSIGN_URL,
COUNTERSIGN_TOKEN), and prints {"output", "ran"} as JSON."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from crewai.tools import tool  # noqa: E402
from crewai_refund import ScriptedLLM, crew  # noqa: E402

from hitl_client import Client  # noqa: E402
from hitl_client.crewai import gate_tool_calls  # noqa: E402

ran = []


@tool("refund")
def refund(customer: str, amount: float, currency: str) -> str:
    """Refund a customer."""
    ran.append(["refund", amount])
    return f"refunded {amount} {currency}"


@tool("send_email")
def send_email(to: list[str], subject: str, body: str) -> str:
    """Send an email."""
    ran.append(["send_email", subject])
    return f"sent {subject}"


if __name__ == "__main__":
    llm = ScriptedLLM(model="scripted", calls=[tuple(call) for call in json.loads(sys.argv[1])])
    names = {"refund": "payments.refund", "send_email": "email.send"}
    with Client(os.environ["COUNTERSIGN_URL"], os.environ["COUNTERSIGN_TOKEN"]) as countersign:
        with gate_tool_calls(countersign, action_names=names, wait_timeout=60):
            output = crew(llm, [refund, send_email]).kickoff().raw
    print(json.dumps({"output": output, "ran": ran}))
