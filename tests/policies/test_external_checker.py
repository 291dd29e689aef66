"""The external checker, against a real HTTP server on localhost that answers as told by its path."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType
from tests.policies.conftest import TAG

SECRET = "checker-secret"


class Checker(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = hmac.new(
            SECRET.encode(), self.headers["X-Countersign-Timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        signed = hmac.compare_digest(self.headers["X-Countersign-Signature"], f"sha256={expected}")
        Checker.received.append({"path": self.path, "signed": signed, "body": json.loads(body)})
        if self.path == "/slow":
            time.sleep(1.5)
        answers = {
            "/pass": b'{"verdict": "pass"}',
            "/fail": b'{"verdict": "fail", "reason": "the customer has no such order"}',
            "/slow": b'{"verdict": "pass"}',
            "/garbage": b"<html>oops</html>",
            "/maybe": b'{"verdict": "maybe"}',
        }
        respond(self, answers[self.path] if signed else b'{"verdict": "fail", "reason": "bad signature"}')

    def log_message(self, *args):
        pass


def respond(handler, payload):
    """Answer a checker's request with `payload` (bytes), 200, as JSON."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


@pytest.fixture
def checker_server():
    Checker.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Checker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def checked(tag_type, checker_server):
    def checked(path, **changes):
        ActionType.objects.filter(pk=tag_type.pk).update(
            checker_url=checker_server + path, checker_secret=SECRET, checker_timeout=0.5, **changes
        )

    return checked


def test_a_passing_checker_lets_the_policy_decide(api, checked):
    checked("/pass")

    body = api.propose("tickets.tag", TAG, session_id="run-1").json()

    assert body["status"] == "approved"
    assert body["route"]["checkers"] == [{"name": "schema", "verdict": "pass"}, {"name": "external", "verdict": "pass"}]
    sent = Checker.received[0]
    assert sent["signed"]
    assert sent["body"]["action"] == "tickets.tag"
    assert sent["body"]["params"] == TAG
    assert sent["body"]["agent"] == "billing-agent"


def test_a_failing_checker_is_a_disagreement_that_a_person_resolves(api, checked):
    checked("/fail")

    response = api.propose("tickets.tag", TAG)
    body = response.json()

    assert body["status"] == "pending"
    assert "checker 'external' disagreed: the customer has no such order" in body["route"]["reasons"]
    assert body["route"]["checkers"][1] == {
        "name": "external",
        "verdict": "fail",
        "reason": "the customer has no such order",
    }
    assert Action.objects.get(pk=body["id"]).route["disagreement"] == {
        "checker": "external",
        "reason": "the customer has no such order",
    }
    assert Event.objects.get(kind="checker.verdict", action_id=body["id"]).data["verdict"] == "fail"


def test_a_checker_failing_where_a_person_decides_anyway_is_no_disagreement(api, checked):
    checked("/fail", autonomy="confirm")

    body = api.propose("tickets.tag", TAG).json()

    assert body["status"] == "pending"
    assert "disagreement" not in Action.objects.get(pk=body["id"]).route


def test_a_slow_checker_counts_as_fail(api, checked):
    checked("/slow")

    body = api.propose("tickets.tag", TAG).json()

    assert body["status"] == "pending"
    assert body["route"]["checkers"][1] == {"name": "external", "verdict": "fail", "reason": "no answer within 0.5 s"}


@pytest.mark.parametrize("path", ["/garbage", "/maybe"])
def test_a_garbage_answer_counts_as_fail(api, checked, path):
    checked(path)

    body = api.propose("tickets.tag", TAG).json()

    assert body["status"] == "pending"
    assert body["route"]["checkers"][1]["reason"] == "answered HTTP 200 without a pass or fail verdict"


def test_an_unreachable_checker_counts_as_fail(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(checker_url="http://127.0.0.1:9/", checker_secret=SECRET)

    body = api.propose("tickets.tag", TAG).json()

    assert body["status"] == "pending"
    assert body["route"]["checkers"][1]["reason"].startswith("could not be reached")
