"""Webhook delivery: how long after the reviewer's approve request returns the agent's callback
receiver is POSTed the decision, beside the round trip of an empty request (the floor).

All real: the agent proposes through gunicorn with a `callback_url` on a local receiver (the
bench's settings allow loopback callbacks); the reviewer approves with the inbox's own htmx
POST; a Celery worker of the production kind (a subprocess on the bench's Redis) claims the
callback row, signs it per Standard Webhooks and POSTs it; the receiver verifies the signature
with the standardwebhooks library and answers 204. One decision at a time, so each interval is
the product's latency and not a queue's.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from approvals.views import CONFIRMED as CONFIRMED_IRREVERSIBLE
from bench.harness import Reading, percentile
from bench.volume import WAITING_PROPOSALS, proposal

BASE_DIR = Path(__file__).resolve().parent.parent
DELIVERY_TIMEOUT_SECONDS = 30


class Receiver:
    """The agent's callback endpoint: verifies, then notes when each action's decision arrived."""

    def __init__(self, secret):
        self.webhook = Webhook(secret)
        self.arrived = {}  # action id -> perf_counter at the request's arrival
        self.events = {}  # action id -> threading.Event
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                arrived = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    action = receiver.webhook.verify(body, dict(self.headers))
                except Exception:
                    receiver.refused += 1
                    self.send_response(401)
                else:
                    receiver.arrived.setdefault(action["id"], arrived)
                    receiver.event(action["id"]).set()
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event(self, action_id):
        return self.events.setdefault(action_id, threading.Event())

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}/countersign"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_worker(stack):
    """A Celery worker as `make run` starts one (prefork, two processes), on the bench's database and Redis."""
    log = open(stack.run_dir / "celery.log", "ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hitl_site", "worker", "--concurrency", "2", "--loglevel", "warning"],
        cwd=BASE_DIR,
        env={**os.environ, "SITE_URL": stack.web_url},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return worker, log


def stop_worker(worker, log):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    log.close()


def measure(stack):
    from policies.models import AgentToken

    agent = AgentToken.agent_for(stack.actors.quiet_token)
    receiver = Receiver(agent.callback_secret())
    worker, log = start_worker(stack)
    try:
        with httpx.Client(base_url=stack.web_url) as client:
            csrf = stack.reviewer_session(client, stack.actors.supervisor)
            cookies = dict(client.cookies)
        intervals_ms, floor_ms = decide(stack, receiver, csrf, cookies)
    finally:
        stop_worker(worker, log)
        receiver.close()
    if receiver.refused:
        raise RuntimeError(f"{receiver.refused} callbacks failed the signature check")
    note = (
        f"{len(intervals_ms)} decisions approved through the inbox, each POSTed by a Celery worker and verified; "
        f"p50 {percentile(intervals_ms, 50):.1f} ms"
    )
    return {"webhook delivery p95": Reading(percentile(intervals_ms, 95), percentile(floor_ms, 95), note)}


def decide(stack, receiver, csrf, cookies):
    rng = random.Random(11)
    agent_headers = {"Authorization": f"Bearer {stack.actors.quiet_token}"}
    reviewer_headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
    intervals_ms, floor_ms = [], []
    with (
        httpx.Client(base_url=stack.web_url, headers=agent_headers, timeout=60) as agent,
        httpx.Client(base_url=stack.web_url, headers=reviewer_headers, cookies=cookies, timeout=60) as reviewer,
    ):
        # The first decision warms the worker up (it may still be starting): not timed.
        for n in range(stack.scale.decisions + 1):
            began = time.perf_counter()
            agent.get("/healthz").raise_for_status()
            floor = (time.perf_counter() - began) * 1000

            body = {**proposal(rng, n, kinds=WAITING_PROPOSALS), "callback_url": receiver.url}
            proposed = agent.post("/api/v1/actions", json=body)
            action = proposed.json()
            if proposed.status_code != 201 or action["status"] != "pending":
                raise RuntimeError(f"expected a pending action, got {proposed.status_code}: {proposed.text[:300]}")
            arrived = receiver.event(action["id"])
            approved = reviewer.post(f"/actions/{action['id']}/approve", data={"confirm": CONFIRMED_IRREVERSIBLE})
            approve_returned = time.perf_counter()
            if approved.status_code != 200:
                raise RuntimeError(f"approving answered {approved.status_code}: {approved.text[:300]}")
            timeout = DELIVERY_TIMEOUT_SECONDS * (4 if n == 0 else 1)
            if not arrived.wait(timeout):
                raise RuntimeError(f"no callback for {action['id']} within {timeout} s; see celery.log")
            if n:
                intervals_ms.append(max(0.0, receiver.arrived[action["id"]] - approve_returned) * 1000)
                floor_ms.append(floor)
    return intervals_ms, floor_ms

