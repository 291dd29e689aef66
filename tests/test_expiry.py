"""Past its SLA (and its tiers), a pending action takes its type's timeout fallback, once, with
an audit event; with the `expire` fallback the agent sees it expired."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Action
from approvals.tasks import escalate_overdue
from audit.models import Event
from policies.models import ActionType

pytestmark = pytest.mark.django_db


@pytest.fixture
def expiring(refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(timeout_fallback="expire")


def test_an_overdue_action_expires_once_however_often_the_task_runs(api, expiring):
    overdue_id = api.propose().json()["id"]
    fresh_id = api.propose().json()["id"]
    Action.objects.filter(pk=overdue_id).update(due_at=timezone.now() - timedelta(seconds=1))

    first, second = escalate_overdue(), escalate_overdue()

    assert (first["fell_back"], second["fell_back"]) == (1, 0)
    assert Action.objects.get(pk=overdue_id).status == "expired"
    assert Action.objects.get(pk=fresh_id).status == "pending"
    event = Event.objects.get(kind="action.expired")
    assert event.action_id == Action.objects.get(pk=overdue_id).pk
    assert (event.actor_kind, event.data["fallback"], event.data["verdict"]) == ("system", "expire", "expired")


def test_the_agent_sees_the_expiry(api, expiring):
    action_id = api.propose().json()["id"]
    Action.objects.filter(pk=action_id).update(due_at=timezone.now() - timedelta(minutes=1))

    escalate_overdue()

    assert api.get(f"/actions/{action_id}").json()["status"] == "expired"
