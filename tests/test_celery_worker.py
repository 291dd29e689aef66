"""The SLA sweep, run by a real Celery worker over the real Redis broker."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from approvals.models import Action
from approvals.tasks import escalate_overdue
from audit.models import Event
from hitl_site.celery import app
from policies.models import ActionType

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_real_worker_expires_overdue_actions(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(timeout_fallback="expire")
    action_id = api.propose().json()["id"]
    Action.objects.filter(pk=action_id).update(due_at=timezone.now() - timedelta(seconds=5))

    # No ping check: it needs a result backend, and tasks here report through the database.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        escalate_overdue.delay()
        deadline = time.monotonic() + 20
        while Action.objects.get(pk=action_id).status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)

    assert Action.objects.get(pk=action_id).status == "expired"
    assert Event.objects.filter(kind="action.expired", action_id=action_id).count() == 1
