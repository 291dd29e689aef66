"""The inbox is pushed: a logged-in reader's Server-Sent Events stream says when the queue
changed (a proposal, a decision, an escalation, a question), served by the ASGI application."""

import queue
import threading
from datetime import timedelta

import httpx
import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from approvals.models import Action, Question
from policies.models import Agent

pytestmark = pytest.mark.django_db(transaction=True)


class EventStream:
    """`GET /inbox/stream` as a browser's EventSource reads it: each event's name and data."""

    def __init__(self, base_url, user):
        client = Client()
        client.force_login(user)
        self.http = httpx.Client(base_url=base_url, cookies={"sessionid": client.cookies["sessionid"].value})
        self.events = queue.Queue()
        self.opened = threading.Event()
        self.response = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "the stream did not open"

    def _read(self):
        with self.http.stream("GET", "/inbox/stream", timeout=httpx.Timeout(10, read=60)) as response:
            self.response = response
            self.opened.set()
            event = {}
            try:
                for line in response.iter_lines():
                    if line == "":
                        if "event" in event:
                            self.events.put((event["event"], event.get("data", "")))
                        event = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(": ")
                        event[field] = value
            except httpx.HTTPError:
                pass  # closed by the test

    def next(self, timeout=10):
        return self.events.get(timeout=timeout)

    def close(self):
        self.http.close()


@pytest.fixture
def stream(asgi_url, supervisor):
    opened = EventStream(asgi_url, supervisor)
    yield opened
    opened.close()


def test_the_stream_is_an_event_stream_that_says_it_connected(stream):
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    assert stream.response.headers["cache-control"] == "no-cache"
    assert stream.next() == ("changed", "connected")


def test_a_new_proposal_and_its_decision_each_reach_the_stream(stream, asgi_url, token, supervisor):
    stream.next()  # connected
    proposed = httpx.post(
        f"{asgi_url}/api/v1/actions",
        json={"action": "payments.refund", "params": {"customer": "cus_1", "amount": 20, "currency": "USD"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert proposed.status_code == 201, proposed.text
    assert stream.next() == ("changed", "new")

    Action.objects.get(pk=proposed.json()["id"]).approve(by=supervisor)
    assert stream.next() == ("changed", "decided")


def test_an_escalation_an_expiry_and_a_question_and_its_expediting_reach_the_stream(stream, pending, supervisor):
    stream.next()  # connected
    stream.next()  # the pending action, proposed as the stream opened (or after)
    Action.objects.filter(pk=pending.pk).update(escalation_tier=1)
    assert stream.next() == ("changed", "escalated")
    Action.objects.filter(pk=pending.pk).transition(
        from_status=Action.Status.PENDING, status=Action.Status.EXPIRED, decided_at=timezone.now()
    )
    assert stream.next() == ("changed", "expired")

    question = Question.objects.create(
        agent=Agent.objects.first(),
        call_id="contact-1",
        message="Which plan?",
        due_at=timezone.now() + timedelta(hours=1),
    )
    assert stream.next() == ("changed", "new")
    question.expedite(message="The customer is on the phone")
    assert stream.next() == ("changed", "expedited")


def test_a_burst_of_decisions_is_one_event(stream, api, refund_type, supervisor):
    """Fifty decisions in one transaction are fifty announcements (each wakes its own agent), and
    one event for the inbox, which re-reads its queue once."""
    refund = {"customer": "cus_1", "currency": "USD"}
    actions = [
        Action.objects.get(pk=api.propose(params={**refund, "amount": 10 + n}).json()["id"]) for n in range(50)
    ]
    Action.approve_all(actions, by=supervisor)
    # Arrivals may still be on their way, and one event may name both kinds ("decided new").
    while "decided" not in (event := stream.next())[1].split():
        assert event[0] == "changed" and set(event[1].split()) <= {"connected", "new"}
    with pytest.raises(queue.Empty):  # and no other event says "decided"
        while True:
            assert "decided" not in stream.next(timeout=2)[1].split()


def test_a_burst_of_identical_notifications_is_one():
    """What the inbox trigger sends for 500 appeals or questions changing in one transaction is one
    notification, as PostgreSQL folds identical ones."""
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k in ("host", "port", "user", "password", "dbname")
    }
    with psycopg.connect(**params, autocommit=True) as listening:
        listening.execute("LISTEN inbox_changed")
        with psycopg.connect(**params) as writing:
            for _ in range(500):
                writing.execute("SELECT pg_notify('inbox_changed', 'decided')")
        heard = [n.payload for n in listening.notifies(timeout=1)]
    assert heard == ["decided"]


def test_the_stream_needs_a_login(asgi_url):
    answer = httpx.get(f"{asgi_url}/inbox/stream", follow_redirects=False)
    assert answer.status_code == 302 and "/accounts/login/" in answer.headers["location"]


def test_the_inbox_served_by_the_asgi_server_connects_to_the_stream(asgi_url, supervisor):
    client = Client()
    client.force_login(supervisor)
    page = httpx.get(f"{asgi_url}/", cookies={"sessionid": client.cookies["sessionid"].value}).text
    assert 'sse-connect="/inbox/stream"' in page and "hx-sse-2.min.js" in page
    assert 'hx-trigger="sse:changed, every 5s, catch-up"' in page  # the timer stays, for when the stream is down


def test_outside_the_asgi_server_the_stream_answers_204_and_the_inbox_polls(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/inbox/stream").status_code == 204
    page = client.get("/").content.decode()
    assert "sse-connect" not in page and 'hx-trigger="sse:changed, every 5s, catch-up"' in page
