"""The examples run as written against a server with the demo data, as after `make run`."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from tests.client.test_crewai import OFFLINE, crewai_python  # noqa: F401 (a fixture)
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())
    return User.objects.get(username="supervisor")


def start(example, live_server, python=sys.executable, **env):
    env = {
        **os.environ,
        "COUNTERSIGN_URL": live_server.url,
        "COUNTERSIGN_TOKEN": settings.HITL_DEMO_AGENT_TOKEN,
        **env,
    }
    return subprocess.Popen(
        [python, str(EXAMPLES / example)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process):
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, output
    return output


def test_the_gate_example_sends_the_email_once_approved(live_server, demo):
    process = start("gate_email.py", live_server)
    action = pending_action(timeout=30)
    assert action.action_type.key == "email.send"
    action.approve(by=demo, params={**action.params, "subject": "Your invoice 981"})

    output = finish(process)
    assert "Sending 'Your invoice 981' to ann@example.com" in output


def test_the_langgraph_example_resumes_the_agent_with_the_decision(live_server, demo):
    process = start("langgraph_agent.py", live_server)
    pending_action(timeout=60).approve(by=demo)

    assert "sent 'Your invoice' to ann@example.com" in finish(process)


def test_the_openai_agents_example_hears_the_rejection(live_server, demo):
    process = start("openai_agents_refund.py", live_server)
    action = pending_action(timeout=60)
    assert action.action_type.key == "payments.refund"
    action.reject(by=demo, reason="Order 981 was refunded yesterday")

    assert "Order 981 was refunded yesterday" in finish(process)


def test_the_pydantic_ai_example_runs_the_edited_refund(live_server, demo):
    process = start("pydantic_ai_refund.py", live_server)
    action = pending_action(timeout=60)
    action.approve(by=demo, params={**action.params, "amount": 500})

    assert "Refunded 500.0 USD to cus_123." in finish(process)


def test_the_google_adk_example_hears_the_rejection(live_server, demo):
    process = start("google_adk_refund.py", live_server)
    pending_action(timeout=60).reject(by=demo, reason="Order 981 was refunded yesterday")

    assert "Order 981 was refunded yesterday" in finish(process)


def test_the_claude_agent_sdk_example_runs_the_allowed_refund(live_server, demo):
    process = start("claude_agent_refund.py", live_server)
    pending_action(timeout=60).approve(by=demo)

    assert "Claude: Refunded 750 USD to cus_123." in finish(process)


def test_the_agent_framework_example_hears_the_rejection(live_server, demo):
    process = start("agent_framework_refund.py", live_server)
    pending_action(timeout=60).reject(by=demo, reason="Order 981 was refunded yesterday")

    assert "Order 981 was refunded yesterday" in finish(process)


def test_the_crewai_example_runs_the_edited_refund(live_server, demo, crewai_python):  # noqa: F811
    process = start("crewai_refund.py", live_server, python=crewai_python, **OFFLINE)
    action = pending_action(timeout=120)
    action.approve(by=demo, params={**action.params, "amount": 500})

    assert "Refunded 500.0 USD to cus_123." in finish(process)
