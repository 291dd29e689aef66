"""Fixtures for the workers' tests: a local webhook receiver, escalation tiers, their people."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group

from approvals.models import Action
from policies.models import EscalationTier
from tests.conftest import make_user


class WebhookReceiver:
    """A real HTTP server on localhost standing in for Slack or an executor.

    `answers` is the list of status codes to give, in order (then 200); `hang` makes the next
    request wait until released, as a receiver that never answers would.
    """

    def __init__(self):
        self.received = []  # (path, headers, body bytes) of every request answered
        self.answers = []
        self.reply = {"ok": True}
        self.hang = threading.Event()
        self.hung = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.hang.is_set():
                    receiver.hang.clear()
                    receiver.hung.set()
                    receiver.release.wait(30)
                    return  # the connection closes with no answer
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status == 200:
                    receiver.received.append((self.path, dict(self.headers), body))
                answer = json.dumps(receiver.reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def bodies(self):
        return [json.loads(body) for _, _, body in self.received]


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    receiver.thread.start()
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def managers(db):
    """The first escalation tier's people."""
    return make_user("mia", "managers")


@pytest.fixture
def directors(db):
    return make_user("dan", "directors")


@pytest.fixture
def two_tiers(refund_type, managers, directors, receiver):
    """Refunds escalate to the managers (10 minutes), then the directors (5 minutes, and a
    Slack webhook), then the timeout fallback."""
    first = EscalationTier.objects.create(
        action_type=refund_type,
        position=1,
        group=Group.objects.get(name="managers"),
        emails="oncall@example.com",
        duration=timedelta(minutes=10),
    )
    second = EscalationTier.objects.create(
        action_type=refund_type,
        position=2,
        group=Group.objects.get(name="directors"),
        webhook_url=receiver.url("/slack"),
        duration=timedelta(minutes=5),
    )
    return first, second


def copies(action, count, **fields):
    """`count` more pending actions like `action` (same type, agent and deadline), for volume."""
    Action.objects.bulk_create(
        [
            Action(
                agent=action.agent,
                action_type=action.action_type,
                policy_version=action.policy_version,
                status="pending",
                autonomy=action.autonomy,
                params=action.params,
                summary=action.summary,
                due_at=action.due_at,
                created_at=action.created_at,
                **fields,
            )
            for _ in range(count)
        ]
    )
