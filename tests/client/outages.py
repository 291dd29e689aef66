"""The outage matrix every adapter must fail closed on: Countersign down, hung (a short timeout), a
wrong token (401), refused arguments (422), nobody deciding within the wait, and an exception inside
the adapter. In each, the tool must not run and the model must be told why."""

import socket
import threading
import time
from dataclasses import dataclass

import pytest

from approvals.models import Action
from audit.models import Event
from tests.client.outage_clients import client_for

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}


@dataclass
class Outage:
    name: str
    spec: dict
    args: dict
    wait_timeout: float
    says: str  # what the model reads, in part

    def client(self):
        return client_for(self.spec)


@pytest.fixture
def closed_port():
    """An address where nothing listens: Countersign is down."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


@pytest.fixture
def hung_port():
    """An address that accepts connections and never answers: Countersign is hung."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()


OUTAGES = ["down", "hung", "unauthorized", "refused_params", "wait_timeout", "adapter_error"]


@pytest.fixture(params=OUTAGES)
def outage(request, live_server, token, refund_type):
    name = request.param
    live = {"url": live_server.url, "token": token}
    if name == "down":
        port = request.getfixturevalue("closed_port")
        return Outage(name, {"url": f"http://127.0.0.1:{port}", "token": token}, REFUND, 20, "could not be reached")
    if name == "hung":
        port = request.getfixturevalue("hung_port")
        spec = {"url": f"http://127.0.0.1:{port}", "token": token, "timeout": 0.3}
        return Outage(name, spec, REFUND, 20, "could not be reached")
    if name == "unauthorized":
        return Outage(name, {**live, "token": "cs_not_a_token"}, REFUND, 20, "refused this agent's token (401")
    if name == "refused_params":
        return Outage(name, live, {**REFUND, "amount": -5}, 20, "refused the arguments (422 params_invalid): amount")
    if name == "wait_timeout":
        return Outage(name, live, REFUND, 0.5, "no reviewer decided within 0.5 seconds")
    return Outage(name, {**live, "broken": True}, REFUND, 20, "failed inside the Countersign adapter (RuntimeError")


def assert_failed_closed(outage, said, ran):
    """The tool never ran, the model read why, and nothing is left for a reviewer to approve in vain."""
    assert ran == []
    assert outage.says in said
    assert not Action.objects.filter(status__in=["approved", "executed", "pending"]).exists()
    if outage.name == "wait_timeout":
        assert Action.objects.get().status == "cancelled"


def outcome(timeout=20.0, count=1):
    """The ended approved actions once their outcomes arrived (they are reported in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = list(Action.objects.filter(status__in=["executed", "failed"]).order_by("action_type__key"))
        if len(ended) == count:
            return ended
        time.sleep(0.05)
    raise AssertionError(
        f"Expected {count} reported outcome(s); statuses: {list(Action.objects.values_list('status', flat=True))}"
    )


def audited_outcome(action):
    """The audit log's record of the final outcome."""
    return Event.objects.get(kind=f"action.{action.status}", action_id=action.pk).data
