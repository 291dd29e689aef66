"""Pending actions past their SLA expire, once, with an audit event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Action
from approvals.tasks import expire_overdue
from audit.models import Event

pytestmark = pytest.mark.django_db


def test_an_overdue_action_expires_once_however_often_the_task_runs(api, refund_type):
    overdue_id = api.propose().json()["id"]
    fresh_id = api.propose().json()["id"]
    Action.objects.filter(pk=overdue_id).update(due_at=timezone.now() - timedelta(seconds=1))

    first, second = expire_overdue(), expire_overdue()

    assert (first, second) == (1, 0)
    assert Action.objects.get(pk=overdue_id).status == "expired"
    assert Action.objects.get(pk=fresh_id).status == "pending"
    event = Event.objects.get(kind="action.expired")
    assert event.action_id == Action.objects.get(pk=overdue_id).pk
    assert event.actor_kind == "system"


def test_the_agent_sees_the_expiry(api, refund_type):
    action_id = api.propose().json()["id"]
    Action.objects.filter(pk=action_id).update(due_at=timezone.now() - timedelta(minutes=1))

    expire_overdue()

    assert api.get(f"/actions/{action_id}").json()["status"] == "expired"
