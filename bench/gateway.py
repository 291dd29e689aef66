"""The MCP gateway (issue 16), served as in production (the stack's web server, `/mcp/`), with
the bench's own upstream server (`bench.mcp_upstream`, streamable HTTP) and the SDK's client as
the agent:

- overhead: an autonomous `tools/call` through Countersign (token, proposal, routing, audit,
  forwarding, the recorded outcome) against the same call made to the upstream directly,
  alternated in the same run;
- held calls as tasks (the 2026 Tasks extension): N `tools/call`s held waiting for a person
  (1,000 at small scale, 10,000 at full), each answered at once with a task; the supervisor's
  inbox p95 meanwhile, beside the same page with the same cards pending and no task; the growth of
  the server's resident set per held task; the p95 of a `tasks/get` poll; then all of them
  rejected in one batch, and every task must complete saying so.
"""

import asyncio
import contextlib
import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import httpx2
from django.contrib.auth.models import User
from django.db import connections
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from approvals.models import Action
from bench.harness import Reading, percentile
from bench.stack import BASE_DIR, _free_port
from bench.waiting import SAMPLES, _server_rss_kb, log_in, timings
from gateway.models import Upstream
from policies.models import ActionType, Agent

HELD_CALLS = {"tiny": 20, "small": 1_000, "full": 10_000}
TASKS_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
}
CONCURRENCY = 16  # calls in flight at once while the held tasks are made
OVERHEAD_CALLS = {"tiny": 10, "small": 100, "full": 400}
LOOKUP, UPDATE = "mcp.bench.lookup", "mcp.bench.update"
CALL_SECONDS = 30


def measure(stack):
    with upstream_server() as upstream_url:
        Upstream.objects.create(name="bench", transport="http", url=upstream_url, timeout=60)
        token = Agent.objects.create(name="bench-mcp-agent").issue_token(label="bench")
        asyncio.run(list_tools(stack.web_url, token))  # registers the tools as action types
        ActionType.objects.filter(key=LOOKUP).update(status="active", autonomy="autonomous", first_use_threshold=0)
        ActionType.objects.filter(key=UPDATE).update(status="active", autonomy="confirm")
        calls = OVERHEAD_CALLS[stack.scale.name]
        cpu_before = server_cpu_seconds(stack.gunicorn_pid)
        through, direct = asyncio.run(overhead(stack.web_url, token, upstream_url, calls))
        # The web server's own CPU per call (the direct calls cost it nothing): what the gateway
        # spends, whatever else the machine is running, where the wall clock measures the load too.
        cpu_ms = (server_cpu_seconds(stack.gunicorn_pid) - cpu_before) * 1000 / (calls + 5)
        held = HELD_CALLS[stack.scale.name]
        result = asyncio.run(held_tasks(stack, token, held))
    note = f"{calls} calls each way, alternated; the web server's CPU {cpu_ms:.1f} ms per call"
    held_note = f"{held:,} tools/call held as tasks; {result['answered']:,} completed after one batch rejection"
    if result["answered"] != held:
        raise RuntimeError(f"only {result['answered']} of {held} held tasks completed after the rejection")
    rss = f"server RSS {result['rss_before_kb'] / 1024:,.0f} MB → {result['rss_after_kb'] / 1024:,.0f} MB"
    return {
        "gateway overhead p50": Reading(percentile(through, 50), percentile(direct, 50), note),
        "gateway overhead p95": Reading(percentile(through, 95), percentile(direct, 95)),
        "inbox p95 with held MCP tasks": Reading(
            percentile(result["held_ms"], 95), percentile(result["idle_ms"], 95), held_note
        ),
        "memory per held MCP task": Reading(
            max(0, result["rss_after_kb"] - result["rss_before_kb"]) / held, None, f"{rss} with {held:,} held"
        ),
        "MCP task poll p95": Reading(percentile(result["poll_ms"], 95), None, f"{len(result['poll_ms'])} tasks/get"),
    }


def server_cpu_seconds(master_pid):
    """User and system CPU time of gunicorn's master and its workers so far, in seconds."""
    pids = [master_pid, *map(int, Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split())]
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime and stime, the stat's 14th and 15th fields
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def upstream_server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.mcp_upstream", str(port)],
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bench's MCP upstream did not start")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait()


@contextlib.asynccontextmanager
async def mcp_client(url, headers=None):
    """The SDK's client on `url`, with room for as many calls at once as the bench holds."""
    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=100)
    async with (
        httpx2.AsyncClient(headers=headers or {}, limits=limits, timeout=httpx2.Timeout(60, read=None)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def through_gateway(web_url, token):
    return mcp_client(web_url + "/mcp/", {"Authorization": f"Bearer {token}"})


async def list_tools(web_url, token):
    async with through_gateway(web_url, token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    if not {"bench__lookup", "bench__update"} <= names:
        raise RuntimeError(f"the gateway did not list the bench upstream's tools: {sorted(names)}")


async def overhead(web_url, token, upstream_url, calls):
    through_ms, direct_ms = [], []
    async with through_gateway(web_url, token) as gateway, mcp_client(upstream_url) as upstream:
        for n in range(calls + 5):  # the first five warm both sides and are not counted
            for client, name, samples in ((upstream, "lookup", direct_ms), (gateway, "bench__lookup", through_ms)):
                began = time.perf_counter()
                # An autonomous call answers at once: one held for a person would hang the bench.
                result = await asyncio.wait_for(client.call_tool(name, {"query": f"order {n}"}), CALL_SECONDS)
                elapsed = (time.perf_counter() - began) * 1000
                if result.is_error or result.content[0].text != f"found: order {n}":
                    raise RuntimeError(f"{name} answered {result}")
                if n >= 5:
                    samples.append(elapsed)
    return through_ms, direct_ms


async def rpc(http, token, method, params):
    answer = await http.post(
        "/mcp/",
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": TASKS_META}},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": method,
            "Mcp-Name": params.get("name") or params.get("taskId"),
        },
    )
    body = answer.json()
    if "result" not in body:
        raise RuntimeError(f"{method} answered {body}")
    return body["result"]


async def held_tasks(stack, token, count):
    """`count` calls held as tasks: the inbox's p95 and the server's memory with them held, the
    p95 of a poll; one batch rejection; every task must then complete saying so. Then the same
    page with the same cards pending and no task (copies of the held actions), so that the ratio is
    what holding the calls costs, not what more cards cost."""
    # Idle connections dropped before the server's keep-alive timeout (5 s) can close one under
    # the next request (as bench.waiting does): 10,000 held calls on a busy machine hit that race.
    limits = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=1)
    async with (
        httpx.AsyncClient(base_url=stack.web_url, timeout=60, limits=httpx.Limits(keepalive_expiry=1)) as reviewer,
        httpx.AsyncClient(base_url=stack.web_url, timeout=60, limits=limits) as agent,
    ):
        await asyncio.to_thread(log_in, stack, reviewer)
        rss_before = _server_rss_kb(stack.gunicorn_pid)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def call(n):
            async with gate:
                params = {"name": "bench__update", "arguments": {"record": f"r{n}", "value": "new"}}
                task = await rpc(agent, token, "tools/call", params)
            if task.get("resultType") != "task":
                raise RuntimeError(f"a held call answered {task}")
            return task["taskId"]

        task_ids = await asyncio.gather(*(call(n) for n in range(count)))
        rss_after = _server_rss_kb(stack.gunicorn_pid)
        held_ms = await timings(reviewer, "/", SAMPLES[stack.scale.name])
        poll_ms = []
        for task_id in task_ids[: SAMPLES[stack.scale.name] * 4]:
            began = time.perf_counter()
            state = await rpc(agent, token, "tasks/get", {"taskId": task_id})
            poll_ms.append((time.perf_counter() - began) * 1000)
            if state["status"] != "working":
                raise RuntimeError(f"a held task is {state['status']}")
        copies = await asyncio.to_thread(reject_all, stack)

        async def poll(task_id):
            async with gate:
                return await rpc(agent, token, "tasks/get", {"taskId": task_id})

        states = await asyncio.gather(*(poll(task_id) for task_id in task_ids))
        await asyncio.to_thread(pend, copies)
        idle_ms = await timings(reviewer, "/", SAMPLES[stack.scale.name])
        await asyncio.to_thread(reject_all, stack)
    answered = sum(
        1
        for state in states
        if state["status"] == "completed" and "rejected" in state["result"]["content"][0]["text"].lower()
    )
    return {
        "idle_ms": idle_ms,
        "held_ms": held_ms,
        "poll_ms": poll_ms,
        "answered": answered,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
    }


def until_pending(count, calls, seconds=300):
    try:
        deadline = time.monotonic() + seconds
        while (pending := pending_updates().count()) < count:
            failed = [call for call in calls if call.done()]
            if failed:
                raise RuntimeError(f"{len(failed)} calls answered before any decision: {failed[0].result()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {pending} of {count} calls were held after {seconds} s")
            time.sleep(0.2)
    finally:
        connections.close_all()


def reject_all(stack):
    """Reject every pending update; returns unsaved pending copies of them."""
    try:
        pending = list(pending_updates())
        copies = [copy.copy(action) for action in pending]
        Action.reject_all(pending, by=User.objects.get(username=stack.actors.supervisor), reason="bench: released")
        return copies
    finally:
        connections.close_all()


def pend(copies):
    """The same actions again, pending, with nobody waiting on them."""
    try:
        for action in copies:
            action.pk = None
            action._state.adding = True
        Action.objects.bulk_create(copies)
    finally:
        connections.close_all()


def pending_updates():
    return Action.objects.filter(action_type__key=UPDATE, status=Action.Status.PENDING)
