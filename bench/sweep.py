"""One SLA escalation sweep over 10,000 overdue pending actions: its time and query count.

Runs on a throwaway database (created and dropped here), so it never touches the dev data:
    .venv/bin/python -m hitl_site.services run -- .venv/bin/python -m bench.sweep [COUNT]
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

BENCH_DATABASE = "bench_sweep"


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


def main(count):
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

    assert result.escalated == count, result
    assert Event.objects.filter(kind="action.escalated").count() == count
    assert result.notifications == Notification.objects.count(), (result, Notification.objects.count())
    print(f"escalation sweep: {count} overdue actions escalated in {swept:.2f} s with {len(queries)} queries")
    print(
        f"  (batches of {escalation.BATCH_SIZE}; {result.notifications} notifications and {count} audit events written)"
    )
    print(f"  the delivery dispatch then claims {len(dispatched)} notifications in {dispatching:.2f} s")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    connection.settings_dict.setdefault("TEST", {})["NAME"] = BENCH_DATABASE
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        main(count)
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
