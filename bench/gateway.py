"""The MCP gateway (issue 16), served as in production (the stack's web server, `/mcp/`), with
the bench's own upstream server (`bench.mcp_upstream`, streamable HTTP) and the SDK's client as
the agent:

- overhead: an autonomous `tools/call` through Countersign (token, proposal, routing, audit,
  forwarding, the recorded outcome) against the same call made to the upstream directly,
  alternated in the same run;
- held calls: N `tools/call`s held at once waiting for a person (1,000 at small scale), and the
  supervisor's inbox p95 meanwhile; then all of them rejected in one batch, and every held call
  must answer; beside the same page with the same cards pending and no call held.
"""

import asyncio
import contextlib
import copy
import subprocess
import sys
import time

import httpx
import httpx2
from django.contrib.auth.models import User
from django.db import connections
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from approvals.models import Action
from bench.harness import Reading, percentile
from bench.stack import BASE_DIR, _free_port
from bench.waiting import SAMPLES, log_in, timings, until_waiting
from gateway.models import Upstream
from policies.models import ActionType, Agent

HELD_CALLS = {"tiny": 20, "small": 1_000, "full": 1_000}
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
        through, direct = asyncio.run(overhead(stack.web_url, token, upstream_url, calls))
        held = HELD_CALLS[stack.scale.name]
        idle_ms, held_ms, answered = asyncio.run(held_calls(stack, token, held))
    note = f"{calls} calls each way, alternated"
    held_note = f"{held:,} tools/call held at once; {answered:,} answered after one batch rejection"
    if answered != held:
        raise RuntimeError(f"only {answered} of {held} held calls answered after the rejection")
    return {
        "gateway overhead p50": Reading(percentile(through, 50), percentile(direct, 50), note),
        "gateway overhead p95": Reading(percentile(through, 95), percentile(direct, 95)),
        "inbox p95 with held MCP calls": Reading(percentile(held_ms, 95), percentile(idle_ms, 95), held_note),
    }


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


async def held_calls(stack, token, count):
    """The inbox's p95 with `count` calls held; one batch rejection wakes them; then the same page
    with the same cards pending and nothing held (copies of the held actions), so that the ratio
    is what holding the calls costs, not what a thousand more cards cost."""
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=60) as reviewer:
        await asyncio.to_thread(log_in, stack, reviewer)
        async with through_gateway(stack.web_url, token) as agent:
            calls = [
                asyncio.create_task(agent.call_tool("bench__update", {"record": f"r{n}", "value": "new"}))
                for n in range(count)
            ]
            await asyncio.to_thread(until_pending, count, calls)
            await until_waiting(reviewer, count, calls)  # proposed, and parked by the server
            held_ms = await timings(reviewer, "/", SAMPLES[stack.scale.name])
            copies = await asyncio.to_thread(reject_all, stack)
            results = await asyncio.wait_for(asyncio.gather(*calls), timeout=120)
        await asyncio.to_thread(pend, copies)
        idle_ms = await timings(reviewer, "/", SAMPLES[stack.scale.name])
        await asyncio.to_thread(reject_all, stack)
    answered = sum(1 for result in results if result.is_error and "rejected" in result.content[0].text.lower())
    return idle_ms, held_ms, answered


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
