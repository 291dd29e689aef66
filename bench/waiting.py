"""Waiting agents (issue 15): N agents parked on `GET /api/v1/actions/{id}/wait` at once (1,000 at
small scale, 10,000 at full) against the stack's gunicorn, as in production.

- the supervisor's inbox and `/healthz` while they wait, beside the same requests just before
  they park (the same actions pending, so the same cards);
- then all N decided by batch approvals through the inbox's own batch form (100 a request): every
  agent must be woken, and the figure is from a batch's answer arriving to each of its agents'
  `/wait` answers arriving;
- the serving processes' memory per waiting agent: the growth of their resident set from before
  the agents park to while they all wait, divided by N.

The agents are raw HTTP/1.1 connections on one event loop (an httpx client per ten thousand
sockets would measure the load generator). Each holds one open file here and one in the server:
the bench raises its soft open-file limit to the hard one, as `hitl_site/gunicorn_conf.py` does
for the server (README, "Serving").
"""

import asyncio
import json
import re
import resource
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django.db import connections
from django.utils import timezone

from approvals.models import Action
from bench.harness import Reading, percentile
from policies.models import ActionType, Agent

AGENTS = {"tiny": 20, "small": 1_000, "full": 10_000}
SAMPLES = {"tiny": 5, "small": 40, "full": 60}  # per phase; the p95 of a handful is its maximum
BATCH = 100  # what one batch approval takes, as a supervisor selecting a page of cards would
CONNECT_CHUNK = 500  # below gunicorn's listen backlog (2048)
WAIT_SECONDS = 60  # the API's longest /wait: an agent still pending then asks again
WAITING_GAUGE = re.compile(rb"^countersign_waiting_requests (\S+)$", re.MULTILINE)


def measure(stack):
    count = AGENTS[stack.scale.name]
    _raise_open_file_limit(count)
    token, ids = _pending_actions(count)
    result = asyncio.run(_run(stack, token, ids, SAMPLES[stack.scale.name]))
    woken = len(result["propagation_ms"])
    if woken != count:
        raise RuntimeError(f"only {woken} of {count} waiting agents were woken by their approval")
    note = f"{count:,} agents parked on /wait; baseline: the same page, the same actions pending, none waiting"
    return {
        "inbox p95 with waiting agents": Reading(
            percentile(result["inbox_waiting"], 95), percentile(result["inbox_idle"], 95), note
        ),
        "/healthz p95 with waiting agents": Reading(
            percentile(result["healthz_waiting"], 95), percentile(result["healthz_idle"], 95)
        ),
        "waking waiting agents p95": Reading(
            percentile(result["propagation_ms"], 95),
            None,
            f"all {count:,} woken by {-(-count // BATCH)} batch approvals of {BATCH}; "
            f"p50 {percentile(result['propagation_ms'], 50):.1f} ms",
        ),
        "memory per waiting agent": Reading(
            result["rss_growth_kb"] / count,
            None,
            f"server RSS {result['rss_before_kb'] / 1024:,.0f} MB → "
            f"{(result['rss_before_kb'] + result['rss_growth_kb']) / 1024:,.0f} MB with {count:,} waiting",
        ),
    }


def _raise_open_file_limit(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < count + 1000:
        raise RuntimeError(f"{count:,} waiting agents need {count + 1000:,} open files; the limit is {soft:,}")


def _pending_actions(count, name="bench-waiting-fleet"):
    """`count` pending refunds of one agent of the fleet's own (one bulk insert), and its token."""
    try:
        agent = Agent.objects.create(name=name)
        token = agent.issue_token(label="bench")
        refund = ActionType.objects.get(key="payments.refund")
        now = timezone.now()
        params = [{"customer": f"cus_w{n:06d}", "amount": 25, "currency": "EUR"} for n in range(count)]
        actions = Action.objects.bulk_create(
            [
                Action(
                    agent=agent,
                    action_type=refund,
                    policy_version=refund.version,
                    status=Action.Status.PENDING,
                    autonomy=refund.autonomy,
                    params=one,
                    summary=refund.render_summary(one),
                    route={"reasons": ["policy for 'payments.refund': Confirm before act"], "checkers": []},
                    created_at=now,
                    due_at=now + timedelta(hours=2),
                )
                for one in params
            ],
            batch_size=2000,
        )
        return token, [str(action.pk) for action in actions]
    finally:
        connections.close_all()


async def _run(stack, token, ids, samples):
    host, port = urlsplit(stack.web_url).hostname, urlsplit(stack.web_url).port
    # Idle connections dropped before the server's keep-alive timeout (5 s) can close one under
    # the next request: parking ten thousand agents takes longer than that.
    limits = httpx.Limits(keepalive_expiry=1)
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=120, limits=limits) as reviewer:
        csrf = await asyncio.to_thread(log_in, stack, reviewer)
        inbox_idle = await timings(reviewer, "/", samples)
        healthz_idle = await timings(reviewer, "/healthz", samples)
        rss_before = _server_rss_kb(stack.gunicorn_pid)

        woken_at = {}
        agents = []
        for start in range(0, len(ids), CONNECT_CHUNK):
            chunk = ids[start : start + CONNECT_CHUNK]
            agents += await asyncio.gather(*(_Agent.park(host, port, token, id_, woken_at) for id_ in chunk))
        await until_waiting(reviewer, len(ids), [agent.task for agent in agents])

        inbox_waiting = await timings(reviewer, "/", samples)
        healthz_waiting = await timings(reviewer, "/healthz", samples)
        rss_growth = _server_rss_kb(stack.gunicorn_pid) - rss_before

        # One batch at a time, each once its agents are all woken: each interval is the product's
        # latency, not a queue of batches no reviewer could click that fast.
        returned_at = {}
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            answer = await reviewer.post("/batch/approve", data={"ids": batch, "csrfmiddlewaretoken": csrf})
            returned = time.perf_counter()
            if answer.status_code != 302:
                raise RuntimeError(f"a batch approval answered {answer.status_code}: {answer.text[:300]}")
            returned_at.update(dict.fromkeys(batch, returned))
            tasks = [agent.task for agent in agents[start : start + BATCH]]
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    return {
        "inbox_idle": inbox_idle,
        "inbox_waiting": inbox_waiting,
        "healthz_idle": healthz_idle,
        "healthz_waiting": healthz_waiting,
        "propagation_ms": [(woken_at[id_] - returned_at[id_]) * 1000 for id_ in woken_at],
        "rss_before_kb": rss_before,
        "rss_growth_kb": rss_growth,
    }


class _Agent:
    """One agent: a socket parked on /wait, asking again while its action is still pending."""

    def __init__(self, host, port, token, action_id, woken_at):
        self.host, self.port, self.token, self.action_id, self.woken_at = host, port, token, action_id, woken_at
        self.task = None

    @classmethod
    async def park(cls, host, port, token, action_id, woken_at):
        agent = cls(host, port, token, action_id, woken_at)
        first = await agent._send()  # connected and asked before park() returns
        agent.task = asyncio.ensure_future(agent._wait(first))
        return agent

    async def _send(self):
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(
            f"GET /api/v1/actions/{self.action_id}/wait?timeout={WAIT_SECONDS} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        return reader, writer

    async def _wait(self, connection):
        while True:
            reader, writer = connection
            answer = await reader.read()  # Connection: close — the whole answer, then EOF
            arrived = time.perf_counter()
            writer.close()
            head, _, body = answer.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"/wait answered {head[:200]!r} {body[:300]!r}")
            status = json.loads(body)["status"]
            if status == "approved":
                self.woken_at[self.action_id] = arrived
                return
            if status != "pending":
                raise RuntimeError(f"/wait answered an action {status}, not approved")
            connection = await self._send()


async def until_waiting(reviewer, count, tasks, seconds=300):
    """Until the server says `count` requests wait (its /metrics gauge), or one of the `tasks`
    waiting on them ended."""
    deadline = time.monotonic() + seconds
    while True:
        waiting = await requests_waiting(reviewer)
        if waiting >= count:
            return
        failed = [task for task in tasks if task.done()]
        if failed:
            failed[0].result()  # raises what went wrong
            raise RuntimeError(f"{len(failed)} agents were answered before any decision")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {waiting:,.0f} of {count:,} agents were waiting after {seconds} s")
        await asyncio.sleep(0.2)


async def requests_waiting(client):
    """How many requests the server says are parked until a decision (its /metrics gauge)."""
    match = WAITING_GAUGE.search((await client.get("/metrics")).content)
    return float(match[1]) if match else 0


def log_in(stack, client):
    with httpx.Client(base_url=stack.web_url) as sync_client:
        csrf = stack.reviewer_session(sync_client, stack.actors.supervisor)
        client.cookies.update(dict(sync_client.cookies))
    return csrf


async def timings(client, path, samples):
    """`samples` GETs of `path`, one after another: each one's milliseconds."""
    taken = []
    for _ in range(samples):
        began = time.perf_counter()
        answer = await client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
        taken.append((time.perf_counter() - began) * 1000)
    return taken


def _server_rss_kb(master_pid):
    """The resident set of gunicorn's master and its workers, in KB."""
    pids = [master_pid] + [
        int(pid) for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    ]
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total
