"""How fast /insights/ and /metrics render over 100,000 actions and 1,000,000 audit events.

    .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python -m bench.insights [--scale 0.1] [--runs 30]

Loads the volume into a database of its own (created, then dropped unless --keep; --reuse
measures a kept one again), spread over
the last 90 days, then renders each page through Django's test client and prints p50 and p95.
The events are not a valid hash chain: only their volume and their columns matter here.

`make bench` calls `measure(stack)`: the same volume (a tenth of it at small scale) loaded into
a throwaway database beside the bench's, the default page and the 90-day page timed, dropped.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from urllib.parse import urlparse, urlunparse

BENCH_DATABASE = "countersign_bench_insights"
TYPES = [
    # key, autonomy mix (suggest, confirm, audit, autonomous)
    ("payments.refund", (0.05, 0.85, 0.10, 0.0)),
    ("email.send", (0.0, 0.10, 0.60, 0.30)),
    ("crm.update", (0.0, 0.30, 0.50, 0.20)),
    ("calendar.invite", (0.10, 0.20, 0.40, 0.30)),
    ("tickets.close", (0.0, 0.40, 0.60, 0.0)),
]
# Fraction of the volume and timed requests per page, at each of the harness's scales.
SCALES = {"tiny": (0.01, 3), "small": (0.1, 10), "full": (1.0, 30)}
EVENT_KINDS = ["action.proposed", "action.routed", "checker.verdict", "action.approved", "action.executed"]


def use_bench_database(reuse):
    """Point Django at a fresh database on the same server, so the bench never touches dev data."""
    import psycopg

    from hitl_site import embedded

    url = urlparse(os.environ.get("DATABASE_URL") or embedded.postgres_url())
    admin = psycopg.connect(urlunparse(url._replace(path="/postgres")), autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone()
    if not (reuse and exists):
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = urlunparse(url._replace(path="/" + BENCH_DATABASE))
    return admin, bool(reuse and exists)


def load(actions_count, events_per_action):
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from approvals.models import Action, Decision
    from policies.models import ActionType, Agent

    rng = random.Random(7)
    now = timezone.now()
    root = User.objects.create_superuser("bench", "bench@example.com", "bench")
    reviewers = [User.objects.create_user(f"reviewer{i}") for i in range(8)]
    agents = [Agent.objects.create(name=f"agent-{i}") for i in range(4)]
    types = [(ActionType.objects.create(key=key, name=key), mix) for key, mix in TYPES]
    levels = ["suggest", "confirm", "audit", "autonomous"]
    started = time.perf_counter()
    chunk = 10_000
    for offset in range(0, actions_count, chunk):
        actions, decisions = [], []
        for _ in range(min(chunk, actions_count - offset)):
            action_type, mix = rng.choice(types)
            agent = rng.choice(agents)
            level = rng.choices(levels, mix)[0]
            created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            action = Action(
                id=uuid.uuid4(),
                agent=agent,
                action_type=action_type,
                policy_version=1,
                autonomy=level,
                params={"n": offset},
                summary="bench",
                created_at=created,
            )
            if level == "confirm":
                action.due_at = created + timedelta(minutes=30)
                roll = rng.random()
                if roll < 0.88 and created < now - timedelta(hours=2):
                    waited = rng.lognormvariate(5, 1.2)
                    action.status = "approved" if roll < 0.78 else "rejected"
                    action.decided_at = created + timedelta(seconds=waited)
                    decisions.append((action, waited, rng.choice(reviewers)))
                elif roll < 0.95 and created < now - timedelta(hours=1):
                    action.status, action.decided_at = "expired", action.due_at
                else:
                    action.status = "pending"
            else:
                action.status = "suggested" if level == "suggest" else "approved"
                action.decided_at = created if level != "suggest" else None
            actions.append(action)
        Action.objects.bulk_create(actions, batch_size=2000)
        Decision.objects.bulk_create(
            [
                Decision.of(
                    action,
                    verdict=action.status,
                    edited=rng.random() < 0.1,
                    by=reviewer,
                    by_name=reviewer.username,
                    at=action.decided_at,
                    seconds_to_decide=min(waited, rng.lognormvariate(2, 1)),
                )
                for action, waited, reviewer in decisions
            ],
            batch_size=2000,
        )
    with connection.cursor() as cursor:
        # A million events are made by PostgreSQL itself, from the actions: ten times faster
        # than sending them. One in ten waiting actions was escalated; each expiry has its event.
        cursor.execute(
            """
            INSERT INTO audit_event (seq, version, lane, lane_seq, at, kind, actor_kind, actor_id, actor_name,
                agent, session_id, on_behalf_of, model, prompt_version, action_id, action_type, summary, data,
                prev_hash, hash)
            SELECT row_number() OVER (ORDER BY a.created_at, g.i), 2, 0, row_number() OVER (ORDER BY a.created_at, g.i),
                a.created_at + g.i * interval '1 second',
                CASE WHEN a.status = 'expired' AND g.i = %(last)s THEN 'action.expired'
                     WHEN a.autonomy = 'confirm' AND g.i = %(last)s - 1 AND hashtext(a.id::text) %% 10 = 0
                         THEN 'action.escalated'
                     ELSE (%(kinds)s::text[])[g.i %% %(kind_count)s + 1] END,
                'system', '', 'bench', ag.name, '', '', '', '', a.id, t.key, '', '{}', '',
                md5(a.id::text || g.i) || md5(g.i || a.id::text)
            FROM approvals_action a
            JOIN policies_agent ag ON ag.id = a.agent_id
            JOIN policies_actiontype t ON t.id = a.action_type_id
            CROSS JOIN generate_series(0, %(last)s) AS g(i)
            """,
            {"last": events_per_action - 1, "kinds": EVENT_KINDS, "kind_count": len(EVENT_KINDS)},
        )
        # Appends after these draw their seq from the sequence, which the INSERT did not move.
        cursor.execute("SELECT setval('audit_event_seq', (SELECT max(seq) FROM audit_event))")
        cursor.execute("ANALYZE")
    return root, time.perf_counter() - started


def pages(today):
    """(label, path) of what is timed; the first two are the bench's figures."""
    start = today - timedelta(days=90)
    return [
        ("insights, last 7 days", "/insights/"),
        ("insights, 90 days", f"/insights/?start={start}"),
        ("insights, 90 days, one type", f"/insights/?start={start}&action_type=payments.refund"),
        ("insights, last day (by hour)", f"/insights/?start={today}"),
        ("insights CSV, 90 days", f"/insights/decision-time.csv?start={start}"),
        ("metrics", "/metrics"),
    ]


def measure(stack):
    from django.test import Client
    from django.utils import timezone

    from bench.harness import Reading
    from bench.stack import own_database

    fraction, runs = SCALES[stack.scale.name]
    actions_count = int(100_000 * fraction)
    with own_database(BENCH_DATABASE):
        root, seconds = load(actions_count, 10)
        client = Client()
        client.force_login(root)
        (_, week), (_, quarter) = pages(timezone.now().date())[:2]
        week_p50, week_p95 = time_page(client, week, runs)
        quarter_p50, quarter_p95 = time_page(client, quarter, runs)
    volume = f"{actions_count:,} actions, {actions_count * 10:,} events (loaded in {seconds:.0f} s), {runs} requests"
    return {
        "insights page p95": Reading(week_p95, note=f"/insights/ (last 7 days), {volume}; p50 {week_p50:.1f} ms"),
        "insights page p95, 90 days": Reading(quarter_p95, note=f"p50 {quarter_p50:.1f} ms"),
    }


def time_page(client, path, runs):
    client.get(path)  # warm: templates compiled, connection open
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    return statistics.median(timings), p95


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 actions (events: 10 each)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by --keep, without loading")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
    admin, reused = use_bench_database(args.reuse)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    if reused:
        from django.contrib.auth.models import User

        from approvals.models import Action
        from audit.models import Event

        root = User.objects.get(username="bench")
        print(f"reusing {Action.objects.count():,} actions and {Event.objects.count():,} events")
    else:
        actions_count = int(100_000 * args.scale)
        root, seconds = load(actions_count, 10)
        print(f"loaded {actions_count:,} actions and {actions_count * 10:,} events in {seconds:.1f} s")

    client = Client()
    client.force_login(root)
    try:
        for label, path in pages(timezone.now().date()):
            p50, p95 = time_page(client, path, args.runs)
            print(f"{label:32} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({args.runs} runs)")
    finally:
        connections.close_all()
        if not args.keep:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
