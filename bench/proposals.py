"""Proposals per second and their latency, beside a bare endpoint in the same gunicorn.

A closed loop of concurrent clients (asyncio + httpx: each sends its next request as soon as
the last one answers) posts realistic proposals to `POST /api/v1/actions` with a bearer token
and an Idempotency-Key, as `hitl_client` does. The baseline phase posts the same bodies to
`/bench/baseline`, which inserts each as one row. Phases alternate (baseline, proposals,
baseline, …) so that both see the same noise from the other processes on the machine.

Then the scaling figure: each endpoint at 1 and at 4 clients, alternated the same way. If
proposals queued on one lock (issue 21: the audit chain's), four clients would get no more
through than one while the bare insert gets more; the figure is proposals' gain from 1 to 4
clients beside the bare insert's.
"""

import asyncio
import dataclasses
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.harness import Reading, percentile
from bench.volume import proposal

WARMUP_SECONDS = 0.5
# Above this share of failed requests the figure is not a measurement of the product.
MAX_ERROR_SHARE = 0.01


@dataclass
class Phase:
    seconds: float = 0.0
    completed: int = 0  # answers that arrived inside the measured window: the throughput
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def add(self, other):
        self.seconds += other.seconds
        self.completed += other.completed
        self.latencies_ms += other.latencies_ms
        self.statuses += other.statuses

    @property
    def per_second(self):
        return self.completed / self.seconds

    def check(self, name, expected=201):
        total = sum(self.statuses.values())
        failed = total - self.statuses[expected]
        if not total or failed / total > MAX_ERROR_SHARE:
            raise RuntimeError(f"{name}: {failed} of {total} requests failed ({dict(self.statuses)})")


def measure(stack):
    scale = stack.scale
    rng = random.Random(3)
    bodies = [json.dumps(proposal(rng, n)).encode() for n in range(2_000)]
    # Both gunicorn workers import and connect lazily: let them do it before anything counts.
    warm_up = dataclasses.replace(scale, seconds=1)
    for path, tokens in (("/bench/baseline", [None]), ("/api/v1/actions", stack.actors.tokens)):
        asyncio.run(load(stack.web_url, path, bodies, tokens, warm_up))
    baseline, proposals = Phase(), Phase()
    for _ in range(scale.rounds):
        baseline.add(asyncio.run(load(stack.web_url, "/bench/baseline", bodies, [None], scale)))
        proposals.add(asyncio.run(load(stack.web_url, "/api/v1/actions", bodies, stack.actors.tokens, scale)))
    baseline.check("baseline")
    proposals.check("proposals")
    note = f"{scale.clients} clients, {proposals.seconds:g} s per endpoint, {proposals.completed:,} proposals"
    return {
        "proposals per second": Reading(proposals.per_second, baseline.per_second, note),
        "proposal latency p50": Reading(percentile(proposals.latencies_ms, 50), percentile(baseline.latencies_ms, 50)),
        "proposal latency p95": Reading(percentile(proposals.latencies_ms, 95), percentile(baseline.latencies_ms, 95)),
        "proposals gain from 1 to 4 clients": scaling(stack, bodies),
    }


def scaling(stack, bodies, low=1, high=4, web_url=None):
    """Throughput at `high` clients ÷ at `low`, for proposals beside the bare insert, served by
    `web_url` (the stack's gunicorn when None)."""
    web_url = web_url or stack.web_url
    phases = {(path, clients): Phase() for path in ("/bench/baseline", "/api/v1/actions") for clients in (low, high)}
    for _ in range(stack.scale.rounds):
        for clients in (low, high):
            scale = dataclasses.replace(stack.scale, clients=clients)
            for path, tokens in (("/bench/baseline", [None]), ("/api/v1/actions", stack.actors.tokens)):
                phases[path, clients].add(asyncio.run(load(web_url, path, bodies, tokens, scale)))
    for (path, clients), phase in phases.items():
        phase.check(f"{path} at {clients} clients")
    rate = {key: phase.per_second for key, phase in phases.items()}
    proposals = rate["/api/v1/actions", high] / rate["/api/v1/actions", low]
    baseline = rate["/bench/baseline", high] / rate["/bench/baseline", low]
    note = (
        f"proposals {rate['/api/v1/actions', low]:.1f} → {rate['/api/v1/actions', high]:.1f} req/s, "
        f"bare insert {rate['/bench/baseline', low]:.1f} → {rate['/bench/baseline', high]:.1f} req/s"
    )
    return Reading(proposals, baseline, note)


async def load(web_url, path, bodies, tokens, scale):
    """`scale.clients` clients posting to `path` for a warm-up then `scale.seconds`. Answers
    arriving inside the measured window count for throughput; requests that also started in it
    give the latencies."""
    limits = httpx.Limits(max_connections=scale.clients, max_keepalive_connections=scale.clients)
    phase = Phase(seconds=scale.seconds)
    async with httpx.AsyncClient(base_url=web_url, limits=limits, timeout=30) as client:
        start = time.perf_counter() + WARMUP_SECONDS
        end = start + scale.seconds

        async def one_client(number):
            token = tokens[number % len(tokens)]
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            sent = number
            while time.perf_counter() < end:
                body = bodies[sent % len(bodies)]
                sent += scale.clients
                began = time.perf_counter()
                answer = await client.post(
                    path, content=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
                )
                finished = time.perf_counter()
                if start <= finished <= end:
                    phase.completed += 1
                    phase.statuses[answer.status_code] += 1
                    if start <= began:
                        phase.latencies_ms.append((finished - began) * 1000)

        await asyncio.gather(*(one_client(n) for n in range(scale.clients)))
    return phase
