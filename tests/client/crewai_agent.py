"""A CrewAI crew run by tests/client/test_crewai.py in CrewAI's own virtualenv: `python crewai_agent.py
CALLS_JSON [OPTIONS_JSON]` makes the scripted LLM call those tools once, gated in Countersign, and prints
{"output", "ran"} as JSON. OPTIONS: `client`, the spec of tests/client/outage_clients.py (default: the
live server at COUNTERSIGN_URL with COUNTERSIGN_TOKEN); `wait_timeout`; `refund_fails`, to make the
refund tool raise."""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT)]

from crewai.tools import tool  # noqa: E402
from crewai_refund import ScriptedLLM, crew  # noqa: E402

from hitl_client.crewai import gate_tool_calls  # noqa: E402
from tests.client.outage_clients import client_for  # noqa: E402

ran = []
options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}


@tool("refund")
def refund(customer: str, amount: float, currency: str) -> str:
    """Refund a customer."""
    if options.get("refund_fails"):
        raise RuntimeError("the payment provider is down")
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
    spec = options.get("client") or {"url": os.environ["COUNTERSIGN_URL"], "token": os.environ["COUNTERSIGN_TOKEN"]}
    with client_for(spec) as countersign:
        with gate_tool_calls(countersign, action_names=names, wait_timeout=options.get("wait_timeout", 60)):
            output = crew(llm, [refund, send_email]).kickoff().raw
    print(json.dumps({"output": output, "ran": ran}))
