"""Routing latency: p50/p95 of the pipeline for one proposal of a type with 20 CEL rules.

Run: .venv/bin/python -m hitl_site.services run -- .venv/bin/python -m bench.routing
Measured in process, without the external checker. Two figures: `route()` alone (the pipeline
over facts already gathered: kill switch, schema, 20 rules, risk gates, standing approvals) and
`facts_for()` + `route()` (adding the PostgreSQL reads: standing approvals, and the repair
loop's count for an invalid proposal). The data it creates is rolled back.
"""

import os
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from policies.models import ActionType, Agent, Rule  # noqa: E402
from policies.routing import Proposal, action_type_for, facts_for, route  # noqa: E402

RUNS = 2000
RULES = 20


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(step):
    for _ in range(100):  # warm up: the CEL programs are compiled on first use
        step()
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def main():
    call_command("migrate", verbosity=0)
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
        facts = facts_for(action_type, agent, proposal, executions=0)
        pipeline = measure(lambda: route(action_type, agent, proposal, facts))
        with_facts = measure(
            lambda: route(action_type, agent, proposal, facts_for(action_type, agent, proposal, executions=0))
        )
        transaction.set_rollback(True)
    print(f"routing pipeline, {RULES} rules, in process: p50 {pipeline[0]:.3f} ms, p95 {pipeline[1]:.3f} ms")
    print(f"with PostgreSQL facts (standing approvals): p50 {with_facts[0]:.3f} ms, p95 {with_facts[1]:.3f} ms")


if __name__ == "__main__":
    main()
