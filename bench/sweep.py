"""One SLA escalation sweep over 10,000 overdue pending actions: its time and query count.

Runs on a throwaway database (created and dropped here), so it never touches the dev data:
    .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python -m bench.sweep [COUNT]

`make bench` calls `measure(stack)`: the same sweep in a throwaway database beside the bench's
(the sweep takes every overdue action in the database, so the count must be its own).
"""

import os
import sys
import time
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.harness import Reading  # noqa: E402
from bench.stack import own_database  # noqa: E402

BENCH_DATABASE = "bench_sweep"
# Overdue actions per scale: the figure is defined at 10,000, and one sweep of them is quick.
COUNTS = {"tiny": 200, "small": 10_000, "full": 10_000}


def populate(count):
    from approvals.models import Action
    from policies.models import ActionType, Agent, EscalationTier

    action_type = ActionType.objects.create(key="payments.refund", name="Refund", autonomy="confirm")
    EscalationTier.objects.create(
        action_type=action_type, position=1, emails="oncall@example.com", webhook_url="http://127.0.0.1:9/slack"
    )
    agent = Agent.objects.create(name="bench-agent")
    due = timezone.now() - timedelta(minutes=1)
    Action.objects.bulk_create(
        [
            Action(
                agent=agent,
                action_type=action_type,
                policy_version=1,
                status="pending",
                autonomy="confirm",
                params={"customer": f"cus_{n}", "amount": n % 900 + 1, "currency": "USD"},
                summary=f"Refund ${n % 900 + 1}.00 to customer cus_{n}",
                created_at=due - timedelta(minutes=30),
                due_at=due,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )


def sweep_overdue(count):
    """Populate `count` overdue actions, sweep them once, then dispatch the notifications; checks
    that every one was escalated. (result, seconds of the sweep, its queries, dispatched, seconds)"""
    from approvals import escalation
    from approvals.models import Notification
    from audit.models import Event

    populate(count)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = escalation.sweep()
        swept = time.perf_counter() - started
    started = time.perf_counter()
    dispatched = Notification.dispatch_due(timezone.now())
    dispatching = time.perf_counter() - started

    if result.escalated != count or Event.objects.filter(kind="action.escalated").count() != count:
        raise RuntimeError(f"the sweep escalated {result.escalated} of {count} overdue actions")
    if result.notifications != Notification.objects.count():
        raise RuntimeError(f"{result} but {Notification.objects.count()} notifications written")
    return result, swept, len(queries), dispatched, dispatching


def measure(stack):
    count = COUNTS[stack.scale.name]
    with own_database(BENCH_DATABASE):
        result, swept, queries, _, _ = sweep_overdue(count)
    note = f"{count:,} overdue actions, {queries} queries, {result.notifications:,} notifications"
    return {"SLA sweep of 10,000": Reading(swept * 1000, note=note)}


def main(count):
    from approvals import escalation

    result, swept, queries, dispatched, dispatching = sweep_overdue(count)
    print(f"escalation sweep: {count} overdue actions escalated in {swept:.2f} s with {queries} queries")
    print(
        f"  (batches of {escalation.BATCH_SIZE}; {result.notifications} notifications and {count} audit events written)"
    )
    print(f"  the delivery dispatch then claims {len(dispatched)} notifications in {dispatching:.2f} s")


if __name__ == "__main__":
    with own_database(BENCH_DATABASE):
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
