"""The CrewAI adapter end to end: a real Crew on a scripted LLM, its tool calls gated by the adapter's
hooks. CrewAI pins older versions of pydantic, openai and mcp than the other frameworks here and
brings a vector-store stack with it, so it runs in a virtualenv of its own, built once under
.run/venvs/crewai with `pip install -e './hitl_client[crewai]'` (as a user would install it) and
rebuilt when hitl_client/pyproject.toml changes."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from approvals.models import Action
from tests.client.outages import REFUND, assert_failed_closed, audited_outcome, outcome
from tests.client.test_langgraph import pending_actions

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".run" / "venvs" / "crewai"
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}


@pytest.fixture(scope="session")
def crewai_python():
    stamp = VENV / "countersign.stamp"
    wanted = hashlib.sha256((ROOT / "hitl_client" / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-e", f"{ROOT / 'hitl_client'}[crewai]"], check=True)
        stamp.write_text(wanted)
    return str(VENV / "bin" / "python")


# CrewAI sends telemetry unless told not to; the network here reaches nothing but registries.
OFFLINE = {"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true"}


def start(crewai_python, live_server, token, *calls, **options):
    env = {**os.environ, "COUNTERSIGN_URL": live_server.url, "COUNTERSIGN_TOKEN": token, **OFFLINE}
    return subprocess.Popen(
        [crewai_python, str(ROOT / "tests" / "client" / "crewai_agent.py"), json.dumps(calls), json.dumps(options)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process):
    try:
        output, errors = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, errors
    return json.loads(output.strip().splitlines()[-1])


def test_an_approved_call_runs(crewai_python, live_server, token, refund_type, supervisor):
    process = start(crewai_python, live_server, token, ("refund", REFUND))

    [action] = pending_actions(1, timeout=120)
    assert (action.action_type.key, action.params) == ("payments.refund", REFUND)
    action.approve(by=supervisor)

    assert finish(process) == {"output": "refunded 750.0 USD", "ran": [["refund", 750]]}
    [executed] = outcome()
    assert executed.status == "executed"
    assert audited_outcome(executed)["output"] == {"result": "refunded 750.0 USD"}


def test_a_failing_tool_ends_failed(crewai_python, live_server, token, refund_type, supervisor):
    process = start(crewai_python, live_server, token, ("refund", REFUND), refund_fails=True)

    pending_actions(1, timeout=120)[0].approve(by=supervisor)

    assert "the payment provider is down" in finish(process)["output"]
    [failed] = outcome()
    assert failed.status == "failed"
    assert "the payment provider is down" in audited_outcome(failed)["error"]


def test_an_outage_blocks_the_tool_and_the_model_hears_why(crewai_python, live_server, token, outage):
    process = start(
        crewai_python, live_server, token, ("refund", outage.args), client=outage.spec, wait_timeout=outage.wait_timeout
    )

    result = finish(process)
    assert_failed_closed(outage, result["output"], result["ran"])


def test_an_edited_call_runs_with_the_reviewers_arguments_without_a_second_review(
    crewai_python, live_server, token, refund_type, supervisor
):
    process = start(crewai_python, live_server, token, ("refund", REFUND))

    pending_actions(1, timeout=120)[0].approve(by=supervisor, params={**REFUND, "amount": 500})

    result = finish(process)
    assert result["ran"] == [["refund", 500]]
    assert "changed this call's arguments before it ran (amount: 750 → 500)" in result["output"]
    assert Action.objects.count() == 1
    assert outcome()[0].status == "executed"


def test_a_rejected_call_does_not_run_and_the_model_hears_why(
    crewai_python, live_server, token, refund_type, supervisor
):
    process = start(crewai_python, live_server, token, ("refund", REFUND))

    pending_actions(1, timeout=120)[0].reject(by=supervisor, reason="Refunded already on T-977")

    result = finish(process)
    assert result["ran"] == []
    assert "Refunded already on T-977" in result["output"]


def test_two_calls_in_one_turn_wait_together(crewai_python, live_server, token, refund_type, email_type, supervisor):
    process = start(crewai_python, live_server, token, ("refund", REFUND), ("send_email", EMAIL))

    email, refund = pending_actions(2, timeout=120)
    email.approve(by=supervisor, params={**EMAIL, "subject": "Your invoice"})
    refund.reject(by=supervisor, reason="Over the limit")

    result = finish(process)
    assert result["ran"] == [["send_email", "Your invoice"]]
    assert "Over the limit" in result["output"] and "sent Your invoice" in result["output"]
