"""Routing latency: p50/p95 of the pipeline for one proposal of a type with 20 CEL rules.

Run: .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python -m bench.routing
Measured in process, without the external checker. Two figures: `route()` alone (the pipeline
over facts already gathered: kill switch, schema, 20 rules, risk gates, standing approvals) and
`facts_for()` + `route()` (adding the PostgreSQL reads: standing approvals, and the repair
loop's count for an invalid proposal). The data it creates is rolled back.

`make bench` calls `measure(stack)`: the same pipeline in the bench's database, fewer runs at
the smaller scales.
"""

import os
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from approvals.services import facts_for  # noqa: E402
from bench.harness import Reading  # noqa: E402
from policies.models import ActionType, Agent, Rule  # noqa: E402
from policies.routing import Proposal, action_type_for, route  # noqa: E402

RUNS = 2000
RULES = 20
RUNS_AT = {"tiny": 200, "small": 1000, "full": RUNS}


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def time_step(step, runs=RUNS):
    for _ in range(100):  # warm up: the CEL programs are compiled on first use
        step()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def route_with_rules(runs=RUNS):
    """(p50, p95) of `route()` alone and of `facts_for()` + `route()`, over a type with RULES
    rules, in a transaction rolled back afterwards."""
    with transaction.atomic():
        agent = Agent.objects.create(name="bench-routing-agent")
        action_type = ActionType.objects.create(
            key="bench.refund",
            name="Bench refund",
            autonomy="audit",
            first_use_threshold=0,
            confidence_threshold="0.5",
            rate_limit=1_000_000,
            params_schema={
                "type": "object",
                "required": ["customer", "amount", "currency"],
                "properties": {
                    "customer": {"type": "string", "pattern": "^cus_[A-Za-z0-9]+$"},
                    "amount": {"type": "number", "exclusiveMinimum": 0},
                    "currency": {"type": "string", "enum": ["USD", "EUR"]},
                },
            },
        )
        for index in range(RULES):
            Rule.objects.create(
                action_type=action_type,
                name=f"rule {index}",
                expression=f'params.amount > {1000 + index * 100} && params.currency == "USD" '
                f'|| "ticket.body" in untrusted && session.id == "run-{index}"',
                order=index,
            )
        action_type = action_type_for("bench.refund")  # with its rules prefetched, as a proposal sees it
        proposal = Proposal(
            params={"customer": "cus_123", "amount": 750, "currency": "USD"},
            context={"ticket": "T-1", "untrusted": ["ticket.body"]},
            confidence=0.8,
            session_id="run-42",
        )
        facts = facts_for(action_type, agent, proposal)
        pipeline = time_step(lambda: route(action_type, agent, proposal, facts), runs)
        with_facts = time_step(
            lambda: route(action_type, agent, proposal, facts_for(action_type, agent, proposal)), runs
        )
        transaction.set_rollback(True)
    return pipeline, with_facts


def measure(stack):
    runs = RUNS_AT[stack.scale.name]
    pipeline, with_facts = route_with_rules(runs)
    note = (
        f"{runs} runs: p50 {pipeline[0]:.3f} ms; with PostgreSQL facts p50 {with_facts[0]:.3f} ms, "
        f"p95 {with_facts[1]:.3f} ms"
    )
    return {"routing p95, 20 rules": Reading(pipeline[1], note=note)}


def main():
    call_command("migrate", verbosity=0)
    pipeline, with_facts = route_with_rules()
    print(f"routing pipeline, {RULES} rules, in process: p50 {pipeline[0]:.3f} ms, p95 {pipeline[1]:.3f} ms")
    print(f"with PostgreSQL facts (standing approvals): p50 {with_facts[0]:.3f} ms, p95 {with_facts[1]:.3f} ms")


if __name__ == "__main__":
    main()
