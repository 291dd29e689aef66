"""Proposal to screen: how long after an agent's proposal is answered `201` a logged-in
supervisor's open inbox hears of it on its event stream (`GET /inbox/stream`), beside the round
trip of an empty request (the floor).

All real: gunicorn with the uvicorn worker, the supervisor logged in through the login form, the
stream read as a browser's EventSource reads it, the proposals from the agent's token. One
proposal at a time, each once the stream is quiet, so each interval is the product's latency:
the trigger's NOTIFY at commit, the process's LISTEN connection, the stream's coalescing pause.
"""

import queue
import random
import threading
import time

import httpx

from bench.harness import Reading, percentile
from bench.volume import WAITING_PROPOSALS, proposal

EVENT_TIMEOUT_SECONDS = 10


class Stream:
    """The supervisor's event stream, read in a thread: (perf_counter at arrival, data) per event."""

    def __init__(self, web_url, cookies):
        self.events = queue.Queue()
        self.client = httpx.Client(base_url=web_url, cookies=cookies, timeout=httpx.Timeout(10, read=None))
        self.opened = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.opened.wait(10):
            raise RuntimeError("the inbox's event stream did not open")

    def _read(self):
        try:
            with self.client.stream("GET", "/inbox/stream") as response:
                if response.status_code != 200:
                    raise RuntimeError(f"the stream answered {response.status_code}")
                self.opened.set()
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.events.put((time.perf_counter(), line[len("data: ") :]))
        except httpx.HTTPError:
            pass  # closed at the end

    def next(self):
        try:
            return self.events.get(timeout=EVENT_TIMEOUT_SECONDS)
        except queue.Empty:
            raise RuntimeError(f"no event on the inbox's stream within {EVENT_TIMEOUT_SECONDS} s") from None

    def close(self):
        self.client.close()


def measure(stack):
    with httpx.Client(base_url=stack.web_url) as client:
        stack.reviewer_session(client, stack.actors.supervisor)
        cookies = dict(client.cookies)
    stream = Stream(stack.web_url, cookies)
    try:
        if stream.next()[1] != "connected":
            raise RuntimeError("the stream's first event was not 'connected'")
        intervals_ms, floor_ms = propose(stack, stream)
    finally:
        stream.close()
    note = (
        f"{len(intervals_ms)} proposals, each heard on a supervisor's stream; p50 {percentile(intervals_ms, 50):.1f} ms"
    )
    return {"proposal to screen p95": Reading(percentile(intervals_ms, 95), percentile(floor_ms, 95), note)}


def propose(stack, stream):
    rng = random.Random(17)
    intervals_ms, floor_ms = [], []
    headers = {"Authorization": f"Bearer {stack.actors.quiet_token}"}
    with httpx.Client(base_url=stack.web_url, headers=headers, timeout=60) as agent:
        for n in range(stack.scale.decisions + 1):  # the first warms the path up: not timed
            began = time.perf_counter()
            agent.get("/healthz").raise_for_status()
            floor = (time.perf_counter() - began) * 1000

            answered = agent.post("/api/v1/actions", json=proposal(rng, n, kinds=WAITING_PROPOSALS))
            returned = time.perf_counter()
            if answered.status_code != 201 or answered.json()["status"] != "pending":
                raise RuntimeError(f"expected a pending action, got {answered.status_code}: {answered.text[:300]}")
            arrived, data = stream.next()
            if "new" not in data.split():
                raise RuntimeError(f"the stream said {data!r} after a proposal")
            if n:
                intervals_ms.append(max(0.0, arrived - returned) * 1000)
                floor_ms.append(floor)
    return intervals_ms, floor_ms
