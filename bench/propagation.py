"""Decision propagation: how long after the reviewer's approve request returns the waiting
agent's long-poll returns, beside the round trip of an empty request (the floor).

Both sides go through gunicorn as in production: the agent proposes with its token and parks
on `GET /api/v1/actions/{id}/wait`; the reviewer, logged in through the login form, approves
with the inbox's own htmx POST (`/actions/{id}/approve`, CSRF header, HX-Request). One decision
at a time, so each interval is the product's latency and not a queue's.
"""

import asyncio
import random
import time

import httpx

from approvals.views import CONFIRMED as CONFIRMED_IRREVERSIBLE
from bench.harness import Reading, percentile
from bench.volume import WAITING_PROPOSALS, proposal

# Long enough for the wait request to reach gunicorn and subscribe before the approval.
PARK_SECONDS = 0.05


def measure(stack):
    csrf_cookies = _reviewer_cookies(stack)
    intervals_ms, floor_ms = asyncio.run(decide(stack, csrf_cookies))
    note = f"{len(intervals_ms)} decisions approved through the inbox's htmx endpoint"
    return {
        "decision propagation p50": Reading(percentile(intervals_ms, 50), percentile(floor_ms, 50), note),
        "decision propagation p95": Reading(percentile(intervals_ms, 95), percentile(floor_ms, 95)),
    }


def _reviewer_cookies(stack):
    with httpx.Client(base_url=stack.web_url) as client:
        csrf = stack.reviewer_session(client, stack.actors.supervisor)
        return csrf, dict(client.cookies)


async def decide(stack, reviewer):
    csrf, cookies = reviewer
    rng = random.Random(7)
    agent_headers = {"Authorization": f"Bearer {stack.actors.quiet_token}"}
    reviewer_headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
    intervals_ms, floor_ms = [], []
    async with (
        httpx.AsyncClient(base_url=stack.web_url, headers=agent_headers, timeout=60) as agent,
        httpx.AsyncClient(base_url=stack.web_url, headers=reviewer_headers, cookies=cookies, timeout=60) as reviewer,
    ):
        for n in range(stack.scale.decisions):
            began = time.perf_counter()
            (await agent.get("/healthz")).raise_for_status()
            floor_ms.append((time.perf_counter() - began) * 1000)

            proposed = await agent.post("/api/v1/actions", json=proposal(rng, n, kinds=WAITING_PROPOSALS))
            action = proposed.json()
            if proposed.status_code != 201 or action["status"] != "pending":
                raise RuntimeError(f"expected a pending action, got {proposed.status_code}: {proposed.text[:300]}")
            waiting = asyncio.create_task(_timed_wait(agent, action["id"]))
            await asyncio.sleep(PARK_SECONDS)
            if waiting.done():
                raise RuntimeError(f"/wait returned before the decision: {waiting.result()[0].text[:300]}")
            approved = await reviewer.post(f"/actions/{action['id']}/approve", data={"confirm": CONFIRMED_IRREVERSIBLE})
            approve_returned = time.perf_counter()
            if approved.status_code != 200:
                raise RuntimeError(f"approving answered {approved.status_code}: {approved.text[:300]}")
            answer, wait_returned = await waiting
            if answer.json().get("status") != "approved":
                raise RuntimeError(f"/wait returned {answer.status_code} without the approval: {answer.text[:300]}")
            intervals_ms.append((wait_returned - approve_returned) * 1000)
    return intervals_ms, floor_ms


async def _timed_wait(agent, action_id):
    answer = await agent.get(f"/api/v1/actions/{action_id}/wait", params={"timeout": 30})
    return answer, time.perf_counter()
