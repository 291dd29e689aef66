"""`seed_scale` loads volume with COPY, and what it loads is one valid chain."""

import pytest
from django.core.management import call_command

from approvals.models import Action
from audit.models import Event
from tests.audit.conftest import append

pytestmark = pytest.mark.django_db


def test_seed_scale_loads_actions_and_a_valid_chain_after_existing_events():
    append("before the seed")

    call_command("seed_scale", actions=30, events=400)

    assert Action.objects.count() == 30
    assert Event.objects.count() == 401
    assert Event.objects.filter(kind="action.proposed").count() == 30
    proposed = Event.objects.filter(kind="action.proposed").first()
    action = Action.objects.get(pk=proposed.action_id)
    assert (proposed.summary, proposed.agent) == (action.summary, action.agent.name)
    assert Event.objects.matching(action.action_type.key).exists()
    call_command("audit_verify")


def test_an_expiry_it_loads_reads_as_the_sla_fallback_writes_one():
    call_command("seed_scale", actions=60, events=500, seed=7)

    expired = Action.objects.filter(status="expired").first()
    event = Event.objects.get(kind="action.expired", action_id=expired.pk)
    assert event.data == {
        "fallback": "expire",
        "verdict": "expired",
        "reason": "No decision within the SLA and its escalation tiers.",
        "tier": 1,
        "due_at": expired.due_at.isoformat(),
    }
    assert expired.outcome == {"status": "expired", "by": "sla-timeout", "reason": event.data["reason"]}
