"""The agent side against a live server: real HTTP into Django's live_server, decisions made
through the models the way a supervisor's click would make them."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone
from humanlayer import HumanLayer

from approvals import escalation
from approvals.receipts import agent_secret
from hitl_client import AsyncClient, Client, outcomes
from policies.models import ActionType
from tests.client.outages import closed_port, hung_port, outage  # noqa: F401 (fixtures for every adapter's tests)

EMAIL_SCHEMA = {
    "type": "object",
    "required": ["to", "subject", "body"],
    "properties": {
        "to": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "subject": {"type": "string", "maxLength": 200},
        "body": {"type": "string"},
    },
    "additionalProperties": False,
}


@pytest.fixture(autouse=True)
def outcomes_delivered():
    """A test's outcome reports (sent in the background) land in that test's database, not the next one's."""
    yield
    outcomes.flush(timeout=30)


@pytest.fixture
def email_type(db):
    return ActionType.objects.create(
        key="email.send",
        name="Send an email",
        params_schema=EMAIL_SCHEMA,
        summary_template="Email {{ to|listing:'recipient' }}: “{{ subject }}”",
        autonomy="confirm",
        editable_params=["subject", "body"],
        sla=timedelta(minutes=30),
    )


@pytest.fixture
def tagging_type(db):
    """Auto-approved: runs at once, reviewed afterwards."""
    return ActionType.objects.create(
        key="tickets.tag",
        name="Tag a ticket",
        params_schema={"type": "object"},
        autonomy="audit",
        first_use_threshold=0,  # past the first-use gate, as a type in production use would be
    )


@pytest.fixture
def deploy_type(db):
    return ActionType.objects.create(
        key="deploy.production", name="Deploy", params_schema={"type": "object"}, autonomy="suggest"
    )


@pytest.fixture
def receipt_secret(agent):
    return agent_secret(agent)


@pytest.fixture
def countersign(live_server, token, receipt_secret):
    with Client(live_server.url, token, backoff=0.01, receipt_secret=receipt_secret) as client:
        yield client


@pytest.fixture
def async_countersign(live_server, token, receipt_secret):
    return lambda: AsyncClient(live_server.url, token, backoff=0.01, receipt_secret=receipt_secret)


@pytest.fixture
def in_background():
    """Run a blocking agent call in a thread while the test plays the supervisor; `.result()` joins it."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            yield pool.submit
        finally:
            # A test that failed midway must not leave an agent waiting forever for a person:
            # the SLA's timeout fallback decides whatever still waits.
            escalation.sweep(now=timezone.now() + timedelta(days=365))


@pytest.fixture
def hl(live_server, token):
    # The only change an existing HumanLayer user makes: the API base (and their Countersign token).
    return HumanLayer(
        api_key=token,
        api_base_url=live_server.url + "/api/v1/humanlayer",
        run_id="billing-run-7",
        sleep=lambda seconds: time.sleep(0.05),  # the SDK polls every 3 s; a test need not wait that long
    )
