"""Actions, decisions and audit events at fixed times, so every figure on the page is known."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from approvals.models import Action, Decision
from audit.log import GENESIS_HASH
from audit.models import Event
from policies.models import ActionType

# The week the fixtures happen in; the page is asked for 2026-11-01 to 2026-11-07 inclusive.
WEEK = {"start": "2026-11-01", "end": "2026-11-07"}


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def email_type(db):
    return ActionType.objects.create(key="email.send", name="Send an email", autonomy="audit")


def make_action(action_type, agent, created, *, autonomy="confirm", status="pending", due_minutes=30):
    return Action.objects.create(
        agent=agent,
        action_type=action_type,
        policy_version=1,
        status=status,
        autonomy=autonomy,
        params={},
        summary=f"{action_type.key} at {created:%d %H:%M}",
        created_at=created,
        due_at=created + timedelta(minutes=due_minutes) if autonomy == "confirm" else None,
        decided_at=created if status == "approved" and autonomy != "confirm" else None,
    )


def decide(action, by, *, after, verdict="approved", edited=False, seconds_to_decide=None):
    decided = action.created_at + timedelta(seconds=after)
    Action.objects.filter(pk=action.pk).update(status=verdict, decided_at=decided)
    decision = Decision.of(
        action,
        verdict=verdict,
        edited=edited,
        by=by,
        by_name=by.username,
        at=decided,
        seconds_to_decide=seconds_to_decide,
    )
    decision.save(force_insert=True)
    return decision


def append_event(kind, when, action):
    """An audit event at a fixed time, chained like record() chains them (in lane 0)."""
    last = Event.objects.filter(lane=0).order_by("-lane_seq").values_list("lane_seq", "hash").first()
    lane_seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('audit_event_seq')")
        seq = cursor.fetchone()[0]
    event = Event(
        seq=seq,
        lane=0,
        lane_seq=lane_seq,
        at=when,
        kind=kind,
        actor_kind="system",
        actor_name="sla",
        prev_hash=prev_hash,
        **action.audit_context(),
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    return event


@pytest.fixture
def week(supervisor, second_supervisor, agent, refund_type, email_type):
    """Five refunds that waited for a person, three emails approved by policy, one refund outside the week.

    refunds: approved in 60 s, edited in 120 s, rejected in 300 s (all within their SLA);
    expired after its SLA; still pending past its SLA. So median 120 s, p90 264 s, 2 breaches.
    """
    sue, sam = supervisor, second_supervisor
    approved = make_action(refund_type, agent, at(2, 10))
    decide(approved, sue, after=60, seconds_to_decide=1.0)
    edited = make_action(refund_type, agent, at(2, 11))
    decide(edited, sue, after=120, edited=True, seconds_to_decide=5.0)
    rejected = make_action(refund_type, agent, at(3, 9))
    decide(rejected, sam, after=300, verdict="rejected", seconds_to_decide=0.5)
    expired = make_action(refund_type, agent, at(3, 10))
    Action.objects.filter(pk=expired.pk).update(status="expired", decided_at=at(3, 10, 31))
    append_event("action.expired", at(3, 10, 31), expired)
    waiting = make_action(refund_type, agent, at(4, 12))
    append_event("action.warned", at(4, 12, 20), waiting)
    append_event("action.escalated", at(4, 12, 31), waiting)
    for created in (at(2, 10, 30), at(5, 8), at(5, 9)):
        make_action(email_type, agent, created, autonomy="audit", status="approved")
    before = make_action(refund_type, agent, at(1, 0) - timedelta(days=10))
    decide(before, sue, after=10, seconds_to_decide=0.1)
    append_event("action.escalated", at(1, 0) - timedelta(days=10), before)
    return {"approved": approved, "waiting": waiting}


def draw_samples(action_type, agent, grades, *, day=6):
    """One audited action of `action_type` per grade ("" for not graded yet), each drawn as a
    sample on `day` of the week."""
    from sampling.models import Sample

    actions = Action.objects.bulk_create(
        Action(
            agent=agent,
            action_type=action_type,
            policy_version=1,
            status="approved",
            autonomy="audit",
            params={},
            summary=f"{action_type.key} sampled",
            created_at=at(day, 8) + timedelta(seconds=n),
            decided_at=at(day, 8) + timedelta(seconds=n),
        )
        for n in range(len(grades))
    )
    return Sample.objects.bulk_create(
        Sample(action=action, action_type=action_type, drawn_at=at(day, 9), grade=grade)
        for action, grade in zip(actions, grades, strict=True)
    )
