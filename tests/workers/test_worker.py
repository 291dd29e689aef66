"""Escalation and delivery through a real Celery worker on the real Redis broker."""

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from approvals import escalation
from approvals.models import Action, Notification
from approvals.tasks import deliver_notification, dispatch_notifications, escalate_overdue
from audit.models import Event
from hitl_site.celery import app
from policies.models import ActionType, EscalationTier
from sampling import drawing
from sampling.models import Sample, SamplingWatermark
from sampling.tasks import draw_samples
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


@contextmanager
def killable_worker(**env):
    """A real `celery worker` in a subprocess on the test database, for a test to SIGKILL; on
    leaving, it is gone whatever happened."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hitl_site", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        env=subprocess_worker_env(**env),
        cwd=settings.BASE_DIR,
    )
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(10)


def test_a_worker_killed_mid_delivery_is_made_good_by_the_recovery_sweep_exactly_once(api, refund_type, receiver):
    EscalationTier.objects.create(
        action_type=refund_type, position=1, webhook_url=receiver.url("/slack"), duration=timedelta(minutes=10)
    )
    action = propose(api)
    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    notification = Notification.objects.get(action=action)
    receiver.hang.set()  # the first delivery never gets an answer

    with killable_worker(HITL_NOTIFY_LEASE_SECONDS="1") as worker:
        deliver_notification.delay(notification.pk)
        assert receiver.hung.wait(60), "the subprocess worker never started delivering"
        worker.send_signal(signal.SIGKILL)
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


def test_a_worker_killed_mid_escalation_leaves_each_action_escalated_exactly_once_after_the_next_sweep(
    api, refund_type
):
    EscalationTier.objects.create(
        action_type=refund_type, position=1, emails="oncall@example.com", duration=timedelta(minutes=10)
    )
    first = propose(api)
    first.due_at = timezone.now() - timedelta(minutes=1)
    Action.objects.filter(pk=first.pk).update(due_at=first.due_at)
    copies(first, 6 * escalation.BATCH_SIZE - 1)
    total = Action.objects.filter(status="pending").count()

    with killable_worker() as worker:
        escalate_overdue.delay()
        # Kill it once some of its batches are committed and before the last one is.
        wait_until(lambda: Event.objects.filter(kind="action.escalated").exists(), timeout=60, what="the sweep")
        worker.send_signal(signal.SIGKILL)
    escalated_when_killed = Action.objects.filter(escalation_tier=1).count()
    assert 0 < escalated_when_killed < total, "the worker was not killed in the middle of the sweep"

    escalate_overdue()  # the next beat run: the database says what is left
    escalate_overdue()  # and one more finds nothing to do

    assert Action.objects.filter(escalation_tier=1).count() == total
    assert Event.objects.filter(kind="action.escalated").count() == total
    assert Notification.objects.filter(kind="escalated").count() == total  # one for oncall@ per action
    assert Notification.objects.filter(kind="escalated").values("action").distinct().count() == total


def test_a_worker_killed_mid_sampling_run_draws_each_sample_exactly_once_after_the_next_run(agent):
    """The run is stopped deterministically in its middle: the second type's watermark row is
    locked by the test, so the worker commits the first type's draw and then waits there."""
    types = [
        ActionType.objects.create(key=key, name=key, autonomy="audit", sampling_rate=0.3, first_use_threshold=0)
        for key in ("a.tag", "b.search")
    ]
    made = timezone.now() - timedelta(minutes=5)
    Action.objects.bulk_create(
        Action(
            agent=agent,
            action_type=action_type,
            policy_version=1,
            status="approved",
            autonomy="audit",
            params={},
            summary="",
            created_at=made,
        )
        for action_type in types
        for _ in range(400)
    )
    SamplingWatermark.objects.create(action_type=types[1], through=drawing.BEGINNING)
    holding, release = threading.Event(), threading.Event()

    def hold_second_watermark():
        try:
            with transaction.atomic():
                SamplingWatermark.objects.select_for_update().get(action_type=types[1])
                holding.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_second_watermark)
    holder.start()
    holding.wait(10)
    try:
        with killable_worker() as worker:
            draw_samples.delay()
            wait_until(lambda: Sample.objects.filter(action_type=types[0]).exists(), timeout=60, what="the first draw")
            time.sleep(0.5)  # now it waits on the second type's lock
            worker.send_signal(signal.SIGKILL)
    finally:
        release.set()
        holder.join()
    assert not Sample.objects.filter(action_type=types[1]).exists(), "the worker was not killed mid-run"

    draw_samples()  # the next beat run
    draw_samples()  # and one more finds nothing new

    expected = {a.pk for a in Action.objects.select_related("action_type") if drawing.is_drawn(a.pk, a.action_type)}
    drawn = list(Sample.objects.values_list("action_id", flat=True))
    assert len(drawn) == len(set(drawn)) == len(expected)
    assert set(drawn) == expected
    assert all(Sample.objects.filter(action_type=t).exists() for t in types)
