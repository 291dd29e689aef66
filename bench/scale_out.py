"""Two web processes (issue 30): gunicorn with `HITL_WEB_WORKERS=2`, one process per core of this
machine, beside the same gunicorn with one.

- proposals per second through the two processes beside the bare insert served the same way,
  and their gain from 1 to 4 clients beside the bare insert's (as `bench.proposals` measures one);
- proposals per second with two processes beside one, phases alternated in the same run;
- a rolling restart of one of the two under 20 clients proposing and agents parked on `/wait`
  (200 at small scale, 1,000 at full): SIGTERM to one web process (hitl_site/worker.py drains
  it), gunicorn starts its replacement. Every proposal carries an Idempotency-Key and may be
  retried once, as `hitl_client` does; a proposal counts as failed when its retry failed too, or
  when the database does not hold it exactly once. Once the stopped process has exited and its
  replacement has started, the parked agents' actions are approved in batches of 100 through the
  inbox's batch form: the figure is from a batch's answer to each of its agents' `/wait` answer,
  wherever the agent re-attached.
"""

import asyncio
import dataclasses
import json
import os
import random
import re
import signal
import time
import uuid
from collections import Counter

import httpx
from django.db import connections

from approvals.models import Action
from bench import waiting
from bench.harness import Reading, percentile
from bench.proposals import Phase, load, scaling
from bench.volume import proposal

PARKED = {"tiny": 20, "small": 200, "full": 1_000}
BATCH = 100
RESTART_WAIT_SECONDS = 90


def measure(stack):
    rng = random.Random(30)
    bodies = [json.dumps(proposal(rng, n)).encode() for n in range(2_000)]
    one, two = stack.start_web(workers=1), stack.start_web(workers=2)
    for web in (one, two):  # each process imports and connects lazily: not while anything counts
        warm_up(stack, web.url, bodies)
    phases = {(web, path): Phase() for web in (one, two) for path in ("/bench/baseline", "/api/v1/actions")}
    for _ in range(stack.scale.rounds):
        for web in (one, two):
            for path, tokens in (("/bench/baseline", [None]), ("/api/v1/actions", stack.actors.tokens)):
                phases[web, path].add(asyncio.run(load(web.url, path, bodies, tokens, stack.scale)))
    for (web, path), phase in phases.items():
        phase.check(f"{path} with {len(web.workers())} processes")
    baseline, proposals = phases[two, "/bench/baseline"], phases[two, "/api/v1/actions"]
    alone = phases[one, "/api/v1/actions"]
    clients = stack.scale.clients
    one.stop()
    restart = rolling_restart(stack, two, bodies)
    return {
        "proposals per second, two processes": Reading(
            proposals.per_second, baseline.per_second, f"{clients} clients, HITL_WEB_WORKERS=2"
        ),
        "proposals gain from 1 to 4 clients, two processes": scaling(stack, bodies, web_url=two.url),
        "proposals per second, two processes beside one": Reading(
            proposals.per_second,
            alone.per_second,
            f"{clients} clients; bare insert {phases[one, '/bench/baseline'].per_second:.0f} → "
            f"{baseline.per_second:.0f} req/s",
        ),
        **restart,
    }


def warm_up(stack, url, bodies):
    scale = dataclasses.replace(stack.scale, seconds=1)
    for path, tokens in (("/bench/baseline", [None]), ("/api/v1/actions", stack.actors.tokens)):
        asyncio.run(load(url, path, bodies, tokens, scale))


def rolling_restart(stack, web, bodies):
    count = PARKED[stack.scale.name]
    token, ids = waiting._pending_actions(count, name="bench-restart-fleet")
    with httpx.Client(base_url=web.url) as reviewer:
        csrf = stack.reviewer_session(reviewer, stack.actors.supervisor)
        cookies = dict(reviewer.cookies)
    result = asyncio.run(_restart(stack, web, bodies, token, ids, csrf, cookies))
    kept = Counter(
        Action.objects.filter(idempotency_key__in=list(result["answered"])).values_list("idempotency_key", flat=True)
    )
    connections.close_all()
    not_once = sum(1 for key in result["answered"] if kept[key] != 1)
    failed = len(result["failed"]) + not_once
    answered_ms = result["answered_ms"]
    if len(answered_ms) != count:
        raise RuntimeError(f"only {len(answered_ms)} of {count} parked agents were answered")
    return {
        "rolling restart: failed proposals": Reading(
            failed,
            None,
            f"{result['sent']:,} proposals by {stack.scale.clients} clients, {result['retried']} retried once, "
            f"{not_once} not stored exactly once; SIGTERM to one of 2 processes: it exited after "
            f"{result['exited_s']:.1f} s (drain included), its replacement served from {result['replaced_s']:.1f} s"
            + (f"; failures: {result['failed'][:3]}" if result["failed"] else ""),
        ),
        "rolling restart: parked agents answered p95": Reading(
            percentile(answered_ms, 95),
            None,
            f"{count:,} agents parked on /wait before the SIGTERM, approved by batches of {BATCH} once the "
            f"replacement started; p50 {percentile(answered_ms, 50):.1f} ms",
        ),
    }


async def _restart(stack, web, bodies, token, ids, csrf, cookies):
    host, port = web.url.removeprefix("http://").split(":")
    woken_at = {}
    agents = []
    for start in range(0, len(ids), waiting.CONNECT_CHUNK):
        chunk = ids[start : start + waiting.CONNECT_CHUNK]
        agents += await asyncio.gather(*(waiting._Agent.park(host, int(port), token, id_, woken_at) for id_ in chunk))
    await asyncio.sleep(1)  # every request read and parked
    if any(agent.task.done() for agent in agents):
        next(agent for agent in agents if agent.task.done()).task.result()
        raise RuntimeError("a parked agent was answered before any decision")

    stop = asyncio.Event()
    outcome = {"answered": {}, "failed": [], "sent": 0, "retried": 0}
    limits = httpx.Limits(max_connections=stack.scale.clients, max_keepalive_connections=stack.scale.clients)
    async with (
        httpx.AsyncClient(base_url=web.url, limits=limits, timeout=30) as client,
        httpx.AsyncClient(base_url=web.url, timeout=120, cookies=cookies) as reviewer,
    ):
        tokens, clients = stack.actors.tokens, stack.scale.clients
        proposing = asyncio.gather(
            *(_propose(client, bodies, tokens[n % len(tokens)], n, stop, outcome, clients) for n in range(clients))
        )
        await asyncio.sleep(1)
        old = web.workers()[0]
        began = time.perf_counter()
        os.kill(old, signal.SIGTERM)
        exited_s, replaced_s = await asyncio.to_thread(_until_replaced, web, old, began)
        await asyncio.sleep(1)  # proposals go on through both processes again

        returned_at = {}
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            answer = await reviewer.post("/batch/approve", data={"ids": batch, "csrfmiddlewaretoken": csrf})
            returned = time.perf_counter()
            if answer.status_code != 302:
                raise RuntimeError(f"a batch approval answered {answer.status_code}: {answer.text[:300]}")
            returned_at.update(dict.fromkeys(batch, returned))
            await asyncio.wait_for(asyncio.gather(*(agent.task for agent in agents[start : start + BATCH])), 120)
        stop.set()
        await proposing
    outcome["answered_ms"] = [(woken_at[id_] - returned_at[id_]) * 1000 for id_ in woken_at]
    outcome["exited_s"], outcome["replaced_s"] = exited_s, replaced_s
    return outcome


async def _propose(client, bodies, token, number, stop, outcome, clients):
    """One client in a closed loop until `stop`: each proposal with its own key, retried once."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    sent = number
    while not stop.is_set():
        body, key = bodies[sent % len(bodies)], str(uuid.uuid4())
        sent += clients
        outcome["sent"] += 1
        problem = None
        for attempt in range(2):
            try:
                answer = await client.post("/api/v1/actions", content=body, headers={**headers, "Idempotency-Key": key})
            except httpx.TransportError as error:
                problem = repr(error)
            else:
                if answer.status_code in (200, 201):
                    outcome["answered"][key] = answer.json()["id"]
                    problem = None
                    break
                problem = f"{answer.status_code} {answer.text[:200]}"
                if answer.status_code < 500 and answer.status_code not in (409, 429):
                    break  # not something a client retries
            if attempt == 0:
                outcome["retried"] += 1
                await asyncio.sleep(0.1)
        if problem is not None:
            outcome["failed"].append(problem)


STARTED = re.compile(rb"\[(\d+)\] \[INFO\] Application startup complete")


def _until_replaced(web, old, began):
    """Seconds from the SIGTERM until the old process exited, and until a new one had started."""
    exited = replaced = None
    deadline = time.monotonic() + RESTART_WAIT_SECONDS
    before = set(web.workers())
    while time.monotonic() < deadline:
        workers = set(web.workers())
        now = time.perf_counter() - began
        if exited is None and old not in workers:
            exited = now
        new = workers - before
        if replaced is None and new:
            started = {int(pid) for pid in STARTED.findall(web.log_path.read_bytes())}
            if new & started:
                replaced = now
        if exited is not None and replaced is not None:
            return exited, replaced
        time.sleep(0.05)
    raise RuntimeError(f"the stopped web process was not replaced within {RESTART_WAIT_SECONDS} s")
