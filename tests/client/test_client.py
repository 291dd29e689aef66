"""Every client method and every typed error, over real HTTP against a live server."""

import asyncio
import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from approvals import escalation
from approvals.models import Action
from hitl_client import (
    Cancelled,
    Client,
    Conflict,
    Expired,
    Forbidden,
    InvalidParams,
    NotFound,
    Rejected,
    ServerUnavailable,
    StillPending,
    Unauthorized,
)
from policies.models import ActionType
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}


def test_a_proposal_at_confirm_comes_back_pending_and_can_be_read_again(countersign, refund_type):
    proposed = countersign.propose("payments.refund", REFUND, session_id="run-42", rationale="double charge")

    assert proposed["status"] == "pending"
    assert proposed["summary"] == "Refund $750.00 to customer cus_123"
    assert proposed["receipt"] is None
    assert countersign.get(proposed["id"]) == proposed
    assert Action.objects.get().session_id == "run-42"


def test_the_same_idempotency_key_gives_back_the_same_action(countersign, refund_type):
    first = countersign.propose("payments.refund", REFUND, idempotency_key="refund-981")
    again = countersign.propose("payments.refund", REFUND, idempotency_key="refund-981")

    assert again["id"] == first["id"]
    assert Action.objects.count() == 1


def test_wait_returns_the_approval_with_the_reviewers_edit(countersign, refund_type, supervisor, in_background):
    proposed = countersign.propose("payments.refund", REFUND)
    waiting = in_background(countersign.wait, proposed["id"], timeout=20)

    pending_action().approve(by=supervisor, params={**REFUND, "amount": 500})

    approved = waiting.result(timeout=20)
    assert approved["status"] == "approved"
    assert approved["final_params"]["amount"] == 500
    assert approved["decision"]["edited"] is True
    assert approved["decision"]["by"] == "sue"


def test_wait_resumes_across_poll_timeouts_until_the_decision(countersign, refund_type, supervisor, in_background):
    proposed = countersign.propose("payments.refund", REFUND)
    waiting = in_background(countersign.wait, proposed["id"], timeout=20, poll=0.2)

    action = pending_action()
    time.sleep(0.7)  # several polls' worth, so the wait had to resume
    action.approve(by=supervisor)

    assert waiting.result(timeout=20)["status"] == "approved"


def test_wait_raises_rejected_with_the_reason(countersign, refund_type, supervisor, in_background):
    proposed = countersign.propose("payments.refund", REFUND)
    waiting = in_background(countersign.wait, proposed["id"], timeout=20)

    pending_action().reject(by=supervisor, reason="Refunded already on T-977")

    with pytest.raises(Rejected) as rejected:
        waiting.result(timeout=20)
    assert rejected.value.reason == "Refunded already on T-977"
    assert rejected.value.action["status"] == "rejected"


def test_wait_raises_expired_when_nobody_decided_in_time(countersign, refund_type, in_background):
    ActionType.objects.filter(pk=refund_type.pk).update(timeout_fallback="expire")
    proposed = countersign.propose("payments.refund", REFUND)
    waiting = in_background(countersign.wait, proposed["id"], timeout=20)

    pending_action()
    assert escalation.sweep(now=timezone.now() + timedelta(hours=1)).fell_back == 1

    with pytest.raises(Expired):
        waiting.result(timeout=20)


def test_a_cancelled_action_is_reported_as_cancelled(countersign, refund_type):
    proposed = countersign.propose("payments.refund", REFUND)

    assert countersign.cancel(proposed["id"])["status"] == "cancelled"
    assert countersign.cancel(proposed["id"])["status"] == "cancelled"  # a retried cancel is harmless
    with pytest.raises(Cancelled):
        countersign.wait(proposed["id"], timeout=1)


def test_wait_raises_still_pending_at_its_deadline(countersign, refund_type):
    proposed = countersign.propose("payments.refund", REFUND)

    with pytest.raises(StillPending) as still:
        countersign.wait(proposed["id"], timeout=0.5, poll=0.2)
    assert still.value.action["status"] == "pending"


def test_reporting_the_outcome_marks_the_action_executed(countersign, tagging_type):
    proposed = countersign.propose("tickets.tag", {"ticket": "T-1", "tag": "billing"})
    assert proposed["status"] == "approved"

    reported = countersign.report(proposed["id"], succeeded=True, output={"tagged": True})
    assert countersign.report(proposed["id"], succeeded=True, output={"tagged": True}) == reported

    assert reported["status"] == "executed"
    assert reported["outcome"] == {"status": "succeeded", "output": {"tagged": True}, "error": ""}


def test_reporting_on_a_pending_action_is_a_conflict(countersign, refund_type):
    proposed = countersign.propose("payments.refund", REFUND)

    with pytest.raises(Conflict) as conflict:
        countersign.report(proposed["id"], succeeded=True)
    assert conflict.value.status == 409
    assert Action.objects.get().status == "pending"


def test_invalid_params_carry_every_schema_error(countersign, refund_type):
    with pytest.raises(InvalidParams) as invalid:
        countersign.propose("payments.refund", {"customer": "nobody", "amount": -5})

    messages = " ".join(f"{error['path']}: {error['message']}" for error in invalid.value.errors)
    assert len(invalid.value.errors) == 3, messages  # bad customer, negative amount, missing currency
    assert "customer" in messages and "amount" in messages and "currency" in messages
    assert Action.objects.count() == 0


def test_a_wrong_token_is_unauthorized(live_server, refund_type):
    with Client(live_server.url, "cs_not_a_token") as stranger, pytest.raises(Unauthorized):
        stranger.propose("payments.refund", REFUND)


def test_another_agents_action_is_not_found(countersign, refund_type):
    with pytest.raises(NotFound):
        countersign.get(uuid.uuid4())


def test_the_action_types_the_agent_may_call(countersign, refund_type):
    assert [t["key"] for t in countersign.action_types()] == ["payments.refund"]


def test_an_unreachable_server_is_server_unavailable_after_the_retries(token):
    with Client("http://127.0.0.1:9", token, retries=2, backoff=0.01) as nowhere:
        with pytest.raises(ServerUnavailable) as unavailable:
            nowhere.get(uuid.uuid4())
    # No answer came, so no status to name: the text starts with what happened, not "None".
    assert str(unavailable.value).startswith("server_unavailable: Countersign could not be reached: ConnectError(")


class ScriptedServer(ThreadingHTTPServer):
    """A stand-in for Countersign that answers every request with `status` and `body`, and keeps them."""

    def __init__(self, status, body):
        self.status, self.body, self.requests = status, body, []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N802
                self.answer(handler)

            def do_POST(handler):  # noqa: N802
                self.answer(handler)

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def answer(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.requests.append((handler.command, handler.path, dict(handler.headers), body and json.loads(body)))
        payload = json.dumps(self.body).encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_a_server_answering_5xx_is_retried_then_server_unavailable(token):
    server = ScriptedServer(503, {"error": {"code": "database_unavailable", "message": "down"}})
    try:
        with Client(server.url, token, retries=2, backoff=0.01) as client, pytest.raises(ServerUnavailable):
            client.propose("payments.refund", REFUND)
    finally:
        server.shutdown()
    keys = {headers["Idempotency-Key"] for _, _, headers, _ in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1  # one key across every retry


def test_escalate_sends_the_end_users_request(token):
    # POST /api/v1/escalations belongs to another part of the product; until it lands this checks the
    # request the client sends, against a stand-in server.
    server = ScriptedServer(201, {"id": "esc_1", "kind": "human"})
    try:
        with Client(server.url, token, session_id="run-42") as client:
            answer = client.escalate("human", "Get me a person, please", action_id="3f0c")
    finally:
        server.shutdown()
    assert answer == {"id": "esc_1", "kind": "human"}
    method, path, headers, body = server.requests[0]
    assert (method, path) == ("POST", "/api/v1/escalations")
    assert headers["Authorization"] == f"Bearer {token}"
    assert body == {"kind": "human", "message": "Get me a person, please", "session_id": "run-42", "action_id": "3f0c"}


def test_the_async_client_does_the_same(async_countersign, tagging_type, refund_type, in_background):
    async def agent():
        async with async_countersign() as client:
            proposed = await client.propose("tickets.tag", {"ticket": "T-2"})
            reported = await client.report(proposed["id"], succeeded=False, error="ticket locked")
            pending = await client.propose("payments.refund", REFUND)
            cancelled = await client.cancel(pending["id"])
            with pytest.raises(Cancelled):
                await client.wait(pending["id"], timeout=1)
            with pytest.raises(InvalidParams):
                await client.propose("payments.refund", {})
            return reported, cancelled, await client.get(pending["id"])

    # In a thread of its own: the browser tests leave Playwright's event loop running in this one.
    reported, cancelled, fetched = in_background(asyncio.run, agent()).result(timeout=30)

    assert reported["status"] == "failed" and reported["outcome"]["error"] == "ticket locked"
    assert cancelled["status"] == fetched["status"] == "cancelled"


def test_the_client_package_never_imports_django():
    import subprocess
    import sys

    code = "import sys, hitl_client, hitl_client.gate; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_paused_agent_is_forbidden_with_the_reason(token):
    # Pausing is the policy engine's (another part of the product); a stand-in gives its answer.
    server = ScriptedServer(403, {"error": {"code": "agent_paused", "message": "billing-agent is paused: incident"}})
    try:
        with Client(server.url, token) as client, pytest.raises(Forbidden) as forbidden:
            client.propose("payments.refund", REFUND)
    finally:
        server.shutdown()
    assert forbidden.value.message == "billing-agent is paused: incident"
    assert len(server.requests) == 1  # not retried
