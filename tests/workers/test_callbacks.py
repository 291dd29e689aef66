"""Decision callbacks: every decision or end state POSTed to the action's callback URL, signed
per Standard Webhooks, retried, delivered at least once under a stable webhook-id."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from approvals import callbacks, escalation
from approvals.models import Action, CallbackDelivery
from audit.models import Event
from hitl_site.celery import app
from policies.models import Agent
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db


class Receiver:
    """An agent's callback endpoint, as its documentation would tell it to be written: verify
    the signature with the standardwebhooks library, then act once per webhook-id."""

    def __init__(self, secret):
        self.webhook = Webhook(secret)
        self.answers = []  # status codes to give before verifying, in order (then 2xx)
        self.events = {}  # webhook-id -> the action, processed once
        self.deliveries = []  # every verified delivery's webhook-id, duplicates included
        self.refused = []  # why a request failed verification
        self.posts = []  # the webhook-id of every request, answered or not
        self.port = 0
        self.start()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append(self.headers["webhook-id"])
                status = receiver.answers.pop(0) if receiver.answers else receiver.verify(body, dict(self.headers))
                self.send_response(status)
                if 300 <= status < 400:  # to somewhere only the server reaches
                    self.send_header("Location", "http://127.0.0.1:9/internal-admin")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def verify(self, body, headers):
        try:
            action = self.webhook.verify(body, headers)
        except WebhookVerificationError as error:
            self.refused.append(str(error))
            return 401
        webhook_id = headers["webhook-id"]
        self.deliveries.append(webhook_id)
        self.events.setdefault(webhook_id, action)
        return 204

    def url(self):
        return f"http://127.0.0.1:{self.port}/countersign"


@pytest.fixture
def loopback_allowed(settings):
    settings.HITL_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def callback_receiver(agent, loopback_allowed):
    receiver = Receiver(agent.callback_secret())
    yield receiver
    receiver.stop()


def propose(api, receiver, **fields):
    response = api.propose(callback_url=receiver.url(), **fields)
    assert response.status_code == 201, response.content
    return Action.objects.get(pk=response.json()["id"])


def deliver_all():
    for callback in CallbackDelivery.objects.filter(status="queued"):
        callbacks.deliver(callback.pk)


def test_an_approval_is_posted_as_the_api_shows_the_action_and_signed(
    api, client, supervisor, refund_type, callback_receiver
):
    action = propose(api, callback_receiver)
    client.force_login(supervisor)
    client.post(f"/actions/{action.pk}/approve", CONFIRMED)

    [callback] = CallbackDelivery.objects.filter(action=action)
    assert (callback.state, callback.status) == ("approved", "queued")
    assert callbacks.deliver(callback.pk) is None

    assert callback_receiver.refused == []
    [(webhook_id, body)] = callback_receiver.events.items()
    assert webhook_id == callback.webhook_id
    assert body == api.get(f"/actions/{action.pk}").json()
    assert body["status"] == "approved" and body["receipt"]["signature"]
    callback.refresh_from_db()
    assert (callback.status, callback.attempts) == ("sent", 1)
    delivered = Event.objects.get(kind="callback.delivered", action_id=action.pk)
    assert delivered.data["status_code"] == 204 and delivered.data["webhook_id"] == webhook_id
    page = client.get(f"/actions/{action.pk}/").content.decode()
    assert 'id="callbacks"' in page and webhook_id in page and "Delivered" in page


def test_a_signature_made_with_another_agent_s_secret_does_not_verify(
    api, agent, refund_type, loopback_allowed, settings
):
    settings.HITL_NOTIFY_MAX_ATTEMPTS = 2
    other = Agent.objects.create(name="other-agent")
    receiver = Receiver(other.callback_secret())
    try:
        action = propose(api, receiver)
        action.cancel()
        deliver_all()
        deliver_all()
    finally:
        receiver.stop()

    assert receiver.events == {} and receiver.refused == ["No matching signature found"] * 2
    callback = CallbackDelivery.objects.get(action=action)
    assert callback.status == "failed" and "HTTP 401" in callback.last_error
    assert Event.objects.filter(kind="callback.failed", action_id=action.pk).count() == 2


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 304, 300])
def test_a_redirect_is_not_a_delivery_it_is_retried_then_shown_failed(
    api, client, agent, supervisor, refund_type, loopback_allowed, settings, status
):
    settings.HITL_NOTIFY_MAX_ATTEMPTS = 3
    receiver = Receiver(agent.callback_secret())
    receiver.answers = [status] * 3
    try:
        action = propose(api, receiver)
        action.approve(by=supervisor)
        callback = CallbackDelivery.objects.get(action=action)

        assert callbacks.deliver(callback.pk) is not None  # a retry is scheduled
        callback.refresh_from_db()
        assert (callback.status, callback.attempts) == ("queued", 1)
        assert f"HTTP {status}" in callback.last_error
        callbacks.deliver(callback.pk)
        assert callbacks.deliver(callback.pk) is None  # the last try
    finally:
        receiver.stop()

    assert receiver.posts == [callback.webhook_id] * 3  # the redirect was never followed
    callback.refresh_from_db()
    assert (callback.status, callback.attempts, callback.sent_at) == ("failed", 3, None)
    kinds = list(Event.objects.filter(action_id=action.pk, kind__startswith="callback.").values_list("kind", flat=True))
    assert kinds == ["callback.failed"] * 3
    client.force_login(supervisor)
    page = client.get(f"/actions/{action.pk}/").content.decode()
    assert 'class="delivery-failed"' in page and f"HTTP {status}" in page and "Delivered" not in page


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_a_delivery(api, agent, supervisor, refund_type, loopback_allowed, status):
    receiver = Receiver(agent.callback_secret())
    receiver.answers = [status]
    try:
        action = propose(api, receiver)
        action.approve(by=supervisor)
        deliver_all()
    finally:
        receiver.stop()

    assert CallbackDelivery.objects.get(action=action).status == "sent"
    assert Event.objects.get(kind="callback.delivered", action_id=action.pk).data["status_code"] == status


def test_every_end_state_is_announced_once_under_its_own_webhook_id(
    api, supervisor, refund_type, callback_receiver, agent
):
    approved, edited, rejected, cancelled, expired = (propose(api, callback_receiver) for _ in range(5))
    approved.approve(by=supervisor)
    edited.approve(by=supervisor, params={**edited.params, "amount": 500})
    rejected.reject(by=supervisor, reason="duplicate")
    cancelled.cancel()
    escalation.sweep(now=expired.due_at + timedelta(seconds=1))
    deliver_all()
    deliver_all()  # nothing is sent twice

    by_action = {body["id"]: body for body in callback_receiver.events.values()}
    assert len(callback_receiver.deliveries) == 5
    assert by_action[str(approved.pk)]["status"] == "approved"
    assert by_action[str(edited.pk)]["decision"]["edited"] is True
    assert by_action[str(edited.pk)]["final_params"]["amount"] == 500
    assert by_action[str(rejected.pk)]["decision"]["reason"] == "duplicate"
    assert by_action[str(cancelled.pk)]["status"] == "cancelled"
    # The refund type's SLA fallback rejects (the default); the action is no longer pending.
    assert by_action[str(expired.pk)]["status"] in ("expired", "rejected")
    assert set(CallbackDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_batch_approval_queues_one_callback_per_action(api, supervisor, refund_type, callback_receiver):
    actions = [propose(api, callback_receiver) for _ in range(3)]

    Action.approve_all(actions, by=supervisor)
    deliver_all()

    assert {body["id"] for body in callback_receiver.events.values()} == {str(a.pk) for a in actions}


def test_an_action_without_a_callback_url_queues_nothing(api, supervisor, pending):
    pending.approve(by=supervisor)

    assert not CallbackDelivery.objects.exists()


def test_the_address_is_checked_again_at_delivery(api, supervisor, refund_type, callback_receiver, settings):
    action = propose(api, callback_receiver)
    action.approve(by=supervisor)
    settings.HITL_CALLBACK_ALLOWED_NETWORKS = []  # say, its host now resolves to loopback

    deliver_all()

    assert callback_receiver.deliveries == []
    callback = CallbackDelivery.objects.get(action=action)
    assert callback.status == "failed" and "loopback" in callback.last_error
    assert "loopback" in Event.objects.get(kind="callback.failed", action_id=action.pk).data["error"]


def test_a_retry_sends_the_same_body_under_the_same_id(api, supervisor, refund_type, callback_receiver, settings):
    settings.HITL_NOTIFY_RETRY_BASE_SECONDS = 10
    callback_receiver.answers = [503]
    action = propose(api, callback_receiver)
    action.approve(by=supervisor)
    callback = CallbackDelivery.objects.get(action=action)

    assert callbacks.deliver(callback.pk) == 10
    first_payload = CallbackDelivery.objects.get(pk=callback.pk).payload
    Action.objects.filter(pk=action.pk).update(summary="changed after the first attempt")
    assert callbacks.deliver(callback.pk) is None

    [body] = callback_receiver.events.values()
    assert body == first_payload and body["summary"] != "changed after the first attempt"
    assert [e.data["attempt"] for e in Event.objects.filter(kind__startswith="callback.").order_by("seq")] == [1, 2]


def test_a_lost_callback_task_is_redone_by_the_recovery_sweep(api, supervisor, refund_type, callback_receiver):
    action = propose(api, callback_receiver)
    action.approve(by=supervisor)
    callback = CallbackDelivery.objects.get(action=action)
    CallbackDelivery.objects.filter(pk=callback.pk).update(
        status="sending", attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )

    assert CallbackDelivery.dispatch_due(timezone.now()) == [callback.pk]
    callbacks.deliver(callback.pk)

    assert list(callback_receiver.events) == [callback.webhook_id]


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_fails_then_is_down_then_recovers_gets_the_event_once(
    api, client, supervisor, refund_type, callback_receiver, settings
):
    settings.HITL_NOTIFY_RETRY_BASE_SECONDS = 1
    callback_receiver.answers = [500]
    action = propose(api, callback_receiver)
    client.force_login(supervisor)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        client.post(f"/actions/{action.pk}/approve", CONFIRMED)
        wait_for(lambda: CallbackDelivery.objects.filter(action=action, attempts=1, status="queued").exists())
        callback_receiver.stop()  # down: the next attempt finds nobody listening
        wait_for(lambda: CallbackDelivery.objects.filter(action=action, attempts=2, status="queued").exists())
        callback_receiver.start()  # back, on the same port
        wait_for(lambda: CallbackDelivery.objects.get(action=action).status == "sent")

    callback = CallbackDelivery.objects.get(action=action)
    assert callback.attempts == 3
    assert list(callback_receiver.events) == [callback.webhook_id]
    assert json.loads(json.dumps(callback_receiver.events[callback.webhook_id]))["status"] == "approved"
    kinds = list(Event.objects.filter(action_id=action.pk, kind__startswith="callback.").values_list("kind", flat=True))
    assert kinds == ["callback.failed", "callback.failed", "callback.delivered"]


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_an_executed_and_a_failed_outcome_reach_the_callback_as_end_states(
    api, client, supervisor, refund_type, callback_receiver, outcome
):
    action = propose(api, callback_receiver)
    client.force_login(supervisor)
    client.post(f"/actions/{action.pk}/approve", CONFIRMED)
    reported = api.post(f"/actions/{action.pk}/result", {"status": outcome, "output": {"refund": "re_1"}})
    assert reported.status_code == 200, reported.content
    deliver_all()

    end_state = "executed" if outcome == "succeeded" else "failed"
    assert [(c.state, c.status) for c in CallbackDelivery.objects.filter(action=action)] == [
        ("approved", "sent"),
        (end_state, "sent"),
    ]
    body = callback_receiver.events[f"msg_{action.pk.hex}_{end_state}"]
    assert body == api.get(f"/actions/{action.pk}").json()
    assert body["status"] == end_state and body["outcome"]["status"] == outcome
