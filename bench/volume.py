"""What the bench's figures need in its own database: the demo's action types, reviewers,
agents with tokens, realistic proposals, and pending actions by the thousand (bulk_create).

When `manage.py seed_scale` exists (issue 5), full-scale volume comes from it; these helpers
stay for what a figure needs on top (a logged-in reviewer, a token, an exact number pending).
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.models import Action
from hitl_site import roles
from policies.demo import install_action_types
from policies.models import ActionType, Agent

PASSWORD = "bench-password-not-secret"
SUPERVISOR = "bench-supervisor"
# Reviews only a type nobody proposes: the empty inbox, with the same queries as a full one.
IDLE_SUPERVISOR = "bench-idle-supervisor"
IDLE_TYPE = "bench.idle"
AGENTS = 4


@dataclass
class Actors:
    supervisor: str
    idle_supervisor: str
    tokens: list[str] = field(default_factory=list)
    # An agent of its own for one-at-a-time figures (propagation), so that the proposals load
    # just before does not count against its rate limit.
    quiet_token: str = ""


def prepare_actors():
    supervisors, _ = Group.objects.get_or_create(name=roles.SUPERVISORS)
    install_action_types(reviewers=supervisors)
    idle_group, _ = Group.objects.get_or_create(name="bench idle reviewers")
    idle_type, _ = ActionType.objects.get_or_create(key=IDLE_TYPE, defaults={"name": "Nothing", "autonomy": "confirm"})
    assign_perm("policies.review_actiontype", idle_group, idle_type)
    for username, group in ((SUPERVISOR, supervisors), (IDLE_SUPERVISOR, idle_group)):
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
        user.groups.add(group)
    tokens = [Agent.objects.create(name=f"bench-agent-{n}").issue_token(label="bench") for n in range(AGENTS)]
    quiet = Agent.objects.create(name="bench-quiet-agent").issue_token(label="bench")
    return Actors(supervisor=SUPERVISOR, idle_supervisor=IDLE_SUPERVISOR, tokens=tokens, quiet_token=quiet)


# What agents propose, in realistic proportions: most calls are cheap and auto-approved, about
# a third wait for a person.
def _refund(rng, n):
    return "payments.refund", {
        "customer": f"cus_{n:06d}",
        "amount": round(rng.uniform(101, 2000), 2),  # over the demo's 100: it waits
        "currency": rng.choice(["USD", "EUR", "GBP"]),
        "order": f"ord_{rng.randrange(10**6)}",
    }


def _email(rng, n):
    to = [f"customer{rng.randrange(10**5)}@example.com" for _ in range(rng.randint(1, 3))]
    return "email.send", {"to": to, "subject": f"About your order #{n}", "body": "Hello,\n\n" + "Thanks. " * 40}


def _tag(rng, n):
    return "tickets.tag", {"ticket": f"T-{n}", "tags": rng.sample(["billing", "refund", "bug", "vip", "spam"], 2)}


def _search(rng, n):
    return "docs.search", {"query": f"refund policy for order {n}", "limit": 10}


PROPOSALS = [_refund, _email, _tag, _tag, _search, _search]
WAITING_PROPOSALS = [_refund, _email]


def proposal(rng, n, kinds=PROPOSALS):
    """One realistic request body for `POST /api/v1/actions`."""
    action, params = rng.choice(kinds)(rng, n)
    return {
        "action": action,
        "params": params,
        "session_id": f"run-{n // 20}",
        "on_behalf_of": f"user{n % 50}@example.com",
        "model": "gpt-5.1",
        "prompt_version": "support-agent@v7",
        "confidence": round(rng.random(), 2),
        "rationale": f"The customer asked for this in ticket T-{n}; the order history agrees.",
        "context": {"ticket": f"T-{n}", "untrusted": ["ticket.body"]},
    }


def seed_pending(count, seed=9):
    """`count` pending actions spread over the types that wait for a person, due over the next
    hours, in one bulk insert (no audit events: the inbox does not read them)."""
    rng = random.Random(seed)
    types = {t.key: t for t in ActionType.objects.all()}
    agents = list(Agent.objects.filter(name__startswith="bench-agent-"))
    now = timezone.now()
    actions = []
    for n in range(count):
        key, params = rng.choice(WAITING_PROPOSALS)(rng, n)
        action_type = types[key]
        body = proposal(rng, n)
        actions.append(
            Action(
                agent=agents[n % len(agents)],
                action_type=action_type,
                policy_version=action_type.version,
                status=Action.Status.PENDING,
                autonomy=action_type.autonomy,
                params=params,
                summary=action_type.render_summary(params),
                route={"reasons": [f"policy for '{key}': Confirm before act"], "checkers": []},
                session_id=body["session_id"],
                on_behalf_of=body["on_behalf_of"],
                model=body["model"],
                prompt_version=body["prompt_version"],
                confidence=body["confidence"],
                rationale=body["rationale"],
                context=body["context"],
                created_at=now - timedelta(seconds=count - n),
                due_at=now + timedelta(minutes=30, seconds=n),
            )
        )
    Action.objects.bulk_create(actions, batch_size=2000)
