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
