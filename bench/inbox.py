"""The inbox's figures: first-page server render with 10,000 pending actions (target p95 < 150 ms)
and an all-or-nothing batch approval of 100 actions (target < 1 s).

Runs on a throwaway test database beside the development one:
    .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python -m bench.inbox

`make bench` calls `measure(stack)` for the batch, beside one approval through the card's own
POST, in the bench's database as its supervisor (the first page is `bench/inbox_page.py`'s).
"""

import os
import statistics
import time
from datetime import timedelta

from bench.harness import Reading

PENDING = int(os.environ.get("BENCH_INBOX_PENDING", "10000"))
SAMPLES = int(os.environ.get("BENCH_INBOX_SAMPLES", "60"))
BATCH = 100
BATCH_ROUNDS = 10
ROUNDS_AT = {"tiny": 2, "small": 5, "full": BATCH_ROUNDS}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
    import django

    django.setup()
    from approvals.waiting import listener
    from bench.stack import own_database

    with own_database("bench_inbox"):
        try:
            run()
        finally:
            listener.stop()


def run():
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from hitl_site import roles
    from policies.demo import install_action_types
    from policies.models import Agent

    agent = Agent.objects.create(name="bench-agent")
    group, _ = Group.objects.get_or_create(name=roles.SUPERVISORS)  # made by the roles' migration
    # The demo's types, with their rules (ACTION_TYPES alone cannot create them since they have rules).
    refund = next(t for t in install_action_types(reviewers=group) if t.key == "payments.refund")
    user = User.objects.create_user("sue", password="bench")
    user.groups.add(group)
    seed(agent, refund, PENDING)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk insert; plans depend on it

    client = Client()
    client.force_login(user)
    client.get("/")  # warm the template and connection
    render_ms, cpu_ms = [], []
    for _ in range(SAMPLES):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get("/")
        render_ms.append((time.perf_counter() - start) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200
    # Wall time includes waiting for a busy CPU; the CPU time is this process's own work.
    print(f"inbox first page, {PENDING:,} pending, {SAMPLES} requests: "
          f"p50 {percentile(render_ms, 50):.1f} ms, p95 {percentile(render_ms, 95):.1f} ms wall "
          f"(CPU p95 {percentile(cpu_ms, 95):.1f} ms; load average {os.getloadavg()[0]:.1f}) (target < 150 ms)")

    batch_ms = time_batches(client, agent, refund, BATCH_ROUNDS)
    print(f"batch approval of {BATCH} (request to commit), {BATCH_ROUNDS} rounds: "
          f"median {statistics.median(batch_ms):.0f} ms, max {max(batch_ms):.0f} ms (target < 1 s)")


def time_batches(client, agent, action_type, rounds, size=BATCH):
    """Milliseconds of each of `rounds` batch approvals of `size` fresh pending actions."""
    batch_ms = []
    for _ in range(rounds):
        ids = [str(action.pk) for action in seed(agent, action_type, size, minutes=-20)]
        start = time.perf_counter()
        response = client.post("/batch/approve", {"ids": ids})
        batch_ms.append((time.perf_counter() - start) * 1000)
        if response.status_code != 302:
            raise RuntimeError(f"the batch approval of {size} answered {response.status_code}")
    return batch_ms


def time_single_approvals(client, agent, action_type, rounds):
    """Milliseconds of each of `rounds` approvals of one action with the card's own POST."""
    from approvals.models import Action
    from approvals.views import CONFIRMED

    single_ms = []
    for action in seed(agent, action_type, rounds, minutes=-20):
        start = time.perf_counter()
        # An irreversible type: the second press of Approve, the one that decides.
        response = client.post(f"/actions/{action.pk}/approve", {"confirm": CONFIRMED}, HTTP_HX_REQUEST="true")
        single_ms.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or Action.objects.get(pk=action.pk).status == Action.Status.PENDING:
            raise RuntimeError(f"approving one action answered {response.status_code} and left it pending")
    return single_ms


def measure(stack):
    from django.contrib.auth.models import User
    from django.test import Client

    from policies.models import ActionType, Agent

    rounds = ROUNDS_AT[stack.scale.name]
    refund = ActionType.objects.get(key="payments.refund")
    agent = Agent.objects.filter(name__startswith="bench-agent-").first()
    client = Client()
    client.force_login(User.objects.get(username=stack.actors.supervisor))
    client.get("/")  # warm the templates and the connection
    # Alternated, so that both see the same neighbours on the machine.
    single_ms, batch_ms = [], []
    for _ in range(rounds):
        single_ms += time_single_approvals(client, agent, refund, 1)
        batch_ms += time_batches(client, agent, refund, 1)
    note = f"median of {rounds} batches (max {max(batch_ms):,.0f} ms) beside the median of {rounds} single approvals"
    return {"batch approval of 100": Reading(statistics.median(batch_ms), statistics.median(single_ms), note)}


def seed(agent, action_type, count, minutes=30):
    from django.utils import timezone

    from approvals.models import Action

    now = timezone.now()
    actions = []
    for n in range(count):
        params = {"customer": f"cus_{n}", "amount": 10 + n % 900, "currency": "USD"}
        actions.append(Action(
            agent=agent, action_type=action_type, policy_version=1, status=Action.Status.PENDING,
            autonomy="confirm", params=params, summary=action_type.render_summary(params),
            route={"reasons": ["policy for 'payments.refund': Confirm before act"], "checkers": []},
            session_id=f"run-{n // 5}", created_at=now, due_at=now + timedelta(minutes=minutes, seconds=n),
        ))
    return Action.objects.bulk_create(actions, batch_size=2000)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
