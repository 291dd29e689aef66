"""Outcome reports go in the background: retried while Countersign cannot take them, given up (with a
warning) when no retry can help, and never in the agent's way."""

import logging

import httpx
import pytest

from approvals.models import Action
from hitl_client import Client
from hitl_client.outcomes import Outcomes

pytestmark = pytest.mark.django_db(transaction=True)


def flaky(live_server, token, failures):
    """A client whose first `failures` outcome reports meet a 503, as during a restart; the rest pass."""
    real = httpx.Client(base_url=live_server.url)
    seen = []

    def handle(request):
        if request.url.path.endswith("/result"):
            seen.append(request.url.path)
            if len(seen) <= failures:
                return httpx.Response(503, json={"error": {"code": "database_unavailable", "message": "restarting"}})
        forwarded = real.send(
            real.build_request(
                request.method,
                request.url.path,
                headers=request.headers,
                content=request.content,
                params=request.url.params,
            )
        )
        return httpx.Response(forwarded.status_code, headers=forwarded.headers, content=forwarded.content)

    client = Client(live_server.url, token, retries=0, backoff=0.01, transport=httpx.MockTransport(handle))
    return client, seen


def test_a_report_countersign_cannot_take_yet_is_retried_until_it_lands(live_server, token, tagging_type):
    client, seen = flaky(live_server, token, failures=2)
    action = client.propose("tickets.tag", {"ticket": "T-1"})  # auto-approved
    sender = Outcomes(client, first_wait=0.01)

    sender.report(action["id"], succeeded=True, output={"tagged": True})  # returns at once: queued

    assert sender.flush(timeout=20)
    assert len(seen) == 3  # two 503s, then delivered
    done = Action.objects.get()
    assert done.status == "executed" and done.outcome["output"] == {"tagged": True}


def test_a_report_nobody_can_take_is_given_up_with_a_warning(live_server, token, tagging_type, closed_port, caplog):
    with Client(live_server.url, token) as client:
        action = client.propose("tickets.tag", {"ticket": "T-1"})
    sender = Outcomes(Client(f"http://127.0.0.1:{closed_port}", token, retries=0), attempts=2, first_wait=0.01)

    with caplog.at_level(logging.WARNING, logger="hitl_client"):
        sender.report(action["id"], succeeded=True, output={"tagged": True})
        assert sender.flush(timeout=20)

    assert "gave up reporting the outcome" in caplog.text
    assert Action.objects.get().status == "approved"


def test_a_report_refused_for_good_is_not_retried(live_server, token, refund_type, caplog):
    client, seen = flaky(live_server, token, failures=0)
    pending = client.propose("payments.refund", {"customer": "cus_1", "amount": 5, "currency": "USD"})
    sender = Outcomes(client, first_wait=0.01)

    with caplog.at_level(logging.WARNING, logger="hitl_client"):
        sender.report(pending["id"], succeeded=True)  # not approved: 409, which no retry changes
        assert sender.flush(timeout=20)

    assert len(seen) == 1
    assert "409 conflict" in caplog.text
