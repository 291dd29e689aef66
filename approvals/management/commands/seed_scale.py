"""Load realistic volume for the audit benchmarks: actions and their events, written with COPY
(not the ORM), the events forming one valid hash chain after whatever the log already holds.

    python manage.py seed_scale                      # 100,000 actions, 1,000,000 events
    python manage.py seed_scale --actions 10000 --events 100000
"""

import random
import time
import uuid
from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from approvals.escalation import FALLBACK_REASON
from approvals.models import SLA_TIMEOUT_NAME, Action
from audit.log import append_many
from audit.models import Event
from policies.demo import ESCALATION_TIER_DURATION, install_action_types, realistic_proposal
from policies.models import Agent

AGENTS = ["support-agent", "billing-agent", "ops-agent", "crm-agent", "docs-agent"]
REVIEWERS = ["sue", "sam", "ada", "lin", "omar", "priya"]
OUTCOMES = ["approved", "edited", "rejected", "expired", "cancelled"]
SUCCEEDED = {"status": "succeeded", "output": {}, "error": ""}
TIMED_OUT = {"status": "expired", "by": SLA_TIMEOUT_NAME, "reason": FALLBACK_REASON}  # as the fallback sets it
REJECT_REASONS = ["duplicate of a chargeback", "wrong customer", "amount too high", "needs a manager", "not requested"]
# Events that belong to no action, mixed in between actions' events.
OTHER_KINDS = ["user.login", "user.logout", "sample.graded", "policy.changed", "user.login_failed", "audit.exported"]


class Command(BaseCommand):
    help = "Load many actions and audit events fast (COPY), with a valid hash chain."

    def add_arguments(self, parser):
        parser.add_argument("--actions", type=int, default=100_000)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=90, help="spread them over this many days back")
        parser.add_argument("--seed", type=int, help="default: a new one each run (ids must not repeat)")

    def handle(self, actions, events, days, seed, **options):
        if events < actions * 6:
            self.stderr.write(f"note: {events} events is fewer than 6 per action; some actions get none")
        seed = seed if seed is not None else random.SystemRandom().getrandbits(32)
        # hitl_site.roles.SUPERVISORS: approvals may not import hitl_site (tests/test_import_direction.py).
        supervisors, _ = Group.objects.get_or_create(name="supervisors")
        types = {action_type.key: action_type for action_type in install_action_types(reviewers=supervisors)}
        agents = [Agent.objects.get_or_create(name=name)[0] for name in AGENTS]
        start = timezone.now() - timedelta(days=days)
        step = timedelta(days=days) / max(actions, 1)

        began = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            fields = [f for f in Action._meta.concrete_fields]
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            with cursor.copy(f"COPY {Action._meta.db_table} ({columns}) FROM STDIN") as copy:
                for action, _ in _actions(seed, actions, types, agents, start, step):
                    copy.write_row([f.get_db_prep_save(getattr(action, f.attname), connection) for f in fields])
        self.stdout.write(f"{actions} actions in {time.monotonic() - began:.1f}s")

        # The same actions again, rebuilt from the same seed rather than kept: memory stays flat.
        began = time.monotonic()
        proposed = _actions(seed, actions, types, agents, start, step)
        written = append_many(_events(random.Random(seed + 1), proposed, actions, events, start, timedelta(days=days)))
        self.stdout.write(f"{written} events in {time.monotonic() - began:.1f}s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_event")
            cursor.execute(f"ANALYZE {Action._meta.db_table}")


def _actions(seed, count, types, agents, start, step):
    rng = random.Random(seed)
    for i in range(count):
        yield _action(rng, types, agents, start + step * i)


def _action(rng, types, agents, created_at):
    key, params, fields = realistic_proposal(rng)
    action_type = types.get(key) or rng.choice(list(types.values()))
    outcome = rng.choices(OUTCOMES, weights=[70, 10, 12, 5, 3])[0]
    approved = outcome in ("approved", "edited")
    expired = outcome == "expired"  # past its SLA and one escalation tier, by the fallback "expire"
    due_at = created_at + action_type.sla + (ESCALATION_TIER_DURATION if expired else timedelta())
    action = Action(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        agent=rng.choice(agents),
        action_type=action_type,
        policy_version=action_type.version,
        status={"approved": "executed", "edited": "executed"}.get(outcome, outcome),
        autonomy=action_type.autonomy,
        params=params,
        final_params=params if approved else None,
        summary=action_type.render_summary(params),
        route={"reasons": [f"policy: {action_type.autonomy}"], "checkers": [{"name": "schema", "verdict": "pass"}]},
        created_at=created_at,
        due_at=due_at,
        escalation_tier=1 if expired else 0,
        decided_at=due_at if expired else created_at + timedelta(minutes=rng.randint(1, 30)),
        outcome=SUCCEEDED if approved else TIMED_OUT if expired else None,
        **fields,
    )
    return action, outcome


def _events(rng, proposed, actions, total, start, span):
    """`total` events in time order: each action's story, with other events in between."""
    step = span / max(total, 1)
    per_action = total / max(actions, 1)
    n = 0
    for i, (action, outcome) in enumerate(proposed):
        context = action.audit_context()
        for kind, actor, data in _story(rng, action, outcome):
            if n >= total:
                return
            summary = action.summary if kind == "action.proposed" else ""
            yield _event(start + step * n, kind, actor, data, summary=summary, **context)
            n += 1
        while n < min(total, round(per_action * (i + 1))):
            kind = rng.choice(OTHER_KINDS)
            yield _event(start + step * n, kind, ("user", rng.choice(REVIEWERS)), {"ip": f"10.0.{n % 256}.{i % 256}"})
            n += 1
    while n < total:
        yield _event(start + step * n, "user.login", ("user", rng.choice(REVIEWERS)), {})
        n += 1


def _story(rng, action, outcome):
    """The events of one action, as the product writes them."""
    agent = action.agent.name
    reviewer = ("user", rng.choice(REVIEWERS))
    story = [
        (
            "action.proposed",
            ("agent", agent),
            {"proposal": {"action": action.action_type.key, "params": action.params}},
        ),
        ("action.routed", ("system", "policy"), {"level": action.autonomy, **action.route}),
        ("checker.verdict", ("system", "schema"), {"checker": "schema", "verdict": "pass"}),
    ]
    if outcome == "approved":
        story.append(("action.approved", reviewer, {"verdict": "approved", "edited": False, "reason": ""}))
    elif outcome == "edited":
        diff = {"amount": {"from": 750, "to": 500}}
        story.append(("action.edited", reviewer, {"verdict": "approved", "edited": True, "diff": diff, "reason": ""}))
    elif outcome == "rejected":
        story.append(("action.rejected", reviewer, {"verdict": "rejected", "reason": rng.choice(REJECT_REASONS)}))
    elif outcome == "expired":
        due_at = action.due_at.isoformat()
        escalated = {"from_tier": 0, "to_tier": 1, "group": "leads", "due_at": due_at, "notified": ["lead@example.com"]}
        expired = {"fallback": "expire", "verdict": "expired", "reason": FALLBACK_REASON, "tier": 1, "due_at": due_at}
        story.append(("action.escalated", ("system", "sla"), escalated))
        story.append(("action.expired", ("system", "sla"), expired))
    else:
        story.append(("action.cancelled", ("agent", agent), {}))
    if outcome in ("approved", "edited"):
        story.append(("action.executed", ("agent", agent), action.outcome))
    return story


def _event(at, kind, actor, data, **context):
    return Event(at=at, kind=kind, actor_kind=actor[0], actor_id="", actor_name=actor[1], data=data, **context)
