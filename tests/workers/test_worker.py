"""Escalation and delivery through a real Celery worker on the real Redis broker."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from approvals import escalation
from approvals.models import Action, Notification
from approvals.tasks import deliver_notification, dispatch_notifications, escalate_overdue
from audit.models import Event
from hitl_site.celery import app
from policies.models import EscalationTier
from tests.workers.conftest import copies
from tests.workers.test_escalation import propose

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(predicate, timeout=30, what="the worker"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not finish within {timeout} s")
        time.sleep(0.1)


def all_delivered():
    return not Notification.objects.filter(status__in=["queued", "sending"]).exists()


def make_overdue(action):
    Action.objects.filter(pk=action.pk).update(due_at=timezone.now() - timedelta(seconds=1))


def test_a_real_worker_escalates_through_every_tier_to_the_fallback_notifying_each_once(api, two_tiers, receiver):
    action = propose(api)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        for tier in (1, 2):
            make_overdue(action)
            escalate_overdue.delay()
            escalate_overdue.delay()  # a second beat instance, or a redelivered task
            wait_until(lambda tier=tier: Action.objects.get(pk=action.pk).escalation_tier == tier)
            wait_until(all_delivered, what="delivery")
        make_overdue(action)
        escalate_overdue.delay()
        wait_until(lambda: Action.objects.get(pk=action.pk).status == "rejected")
        wait_until(all_delivered, what="delivery")

    assert Event.objects.filter(kind="action.escalated", action_id=action.pk).count() == 2
    assert Event.objects.filter(kind="action.rejected", action_id=action.pk).count() == 1
    assert sorted((m.to[0], m.subject.split(":")[0]) for m in mail.outbox) == [
        ("dan@example.com", "Escalated to you"),
        ("dan@example.com", "Timed out"),
        ("mia@example.com", "Escalated to you"),
        ("oncall@example.com", "Escalated to you"),
    ]
    assert [body["text"].split(":")[0] for body in receiver.bodies()] == ["Escalated to you", "Timed out"]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_escalating_twice_concurrently_on_the_broker_escalates_once(api, two_tiers):
    first = propose(api)
    copies(first, 99)
    Action.objects.update(due_at=timezone.now() - timedelta(seconds=1))

    # Two sweeps race: one on the worker, one here.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        escalate_overdue.delay()
        escalate_overdue()
        wait_until(lambda: not Action.objects.overdue().exists())
        wait_until(all_delivered, what="delivery")

    assert Event.objects.filter(kind="action.escalated").count() == 100
    assert Notification.objects.filter(kind="escalated").count() == 200
    assert len(mail.outbox) == 200


def subprocess_worker_env(**extra):
    """The environment for `celery worker` in a subprocess that uses the test database."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgresql://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}",
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        **extra,
    }


def test_a_worker_killed_mid_delivery_is_made_good_by_the_recovery_sweep_exactly_once(api, refund_type, receiver):
    EscalationTier.objects.create(
        action_type=refund_type, position=1, webhook_url=receiver.url("/slack"), duration=timedelta(minutes=10)
    )
    action = propose(api)
    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    notification = Notification.objects.get(action=action)
    receiver.hang.set()  # the first delivery never gets an answer

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hitl_site", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        env=subprocess_worker_env(HITL_NOTIFY_LEASE_SECONDS="1"),
        cwd=settings.BASE_DIR,
    )
    try:
        deliver_notification.delay(notification.pk)
        assert receiver.hung.wait(60), "the subprocess worker never started delivering"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    receiver.release.set()

    stuck = Notification.objects.get(pk=notification.pk)
    assert (stuck.status, stuck.attempts, receiver.received) == ("sending", 1, [])
    time.sleep(1.1)  # the dead worker's lease runs out

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        dispatch_notifications.delay()
        wait_until(all_delivered, what="recovery")
        dispatch_notifications.delay()  # a second sweep finds nothing left to do
        deliver_notification.delay(notification.pk)  # nor does a redelivered task
        time.sleep(1)

    done = Notification.objects.get(pk=notification.pk)
    assert (done.status, done.attempts) == ("sent", 2)
    assert len(receiver.received) == 1
