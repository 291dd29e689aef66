"""Periodic and background work on actions; thin wrappers around domain code.

Every task here is idempotent (it claims its rows with a conditional UPDATE), so it runs with
late acknowledgement: a task lost with its worker is delivered again, or redone by
`recover_lost_work` from what the database says is still owed.
"""

from celery import shared_task
from django.utils import timezone

from approvals import escalation, notifications
from approvals.models import Action, Notification

# Notification ids per fan-out task: one broker message per chunk keeps a sweep of thousands cheap.
DELIVERY_CHUNK = 500


@shared_task
def expire_overdue():
    """Expire pending actions past their SLA (the safe fallback: never auto-approve)."""
    return Action.expire_overdue()


@shared_task
def escalate_overdue():
    """Warn before, escalate at, and apply the fallback after each pending action's deadline."""
    result = escalation.sweep()
    enqueue_deliveries(result.notification_ids)
    return {"escalated": result.escalated, "fell_back": result.fell_back, "warned": result.warned}


def enqueue_deliveries(notification_ids):
    for start in range(0, len(notification_ids), DELIVERY_CHUNK):
        deliver_notifications.delay(notification_ids[start : start + DELIVERY_CHUNK])


@shared_task
def deliver_notifications(notification_ids):
    """Fan out: one task per notification, so each retries on its own schedule."""
    for notification_id in notification_ids:
        deliver_notification.delay(notification_id)


@shared_task(bind=True, max_retries=None)
def deliver_notification(self, notification_id):
    """Send one notification; transient failures come back with backoff. The attempt limit is
    counted on the row (not by Celery), so a redelivered or recovered task keeps counting."""
    countdown = notifications.deliver(notification_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task
def recover_lost_work():
    """Redo what a lost task left undone: notifications still queued, or stuck in `sending`
    past their lease (a killed worker), long after they should have gone. Escalations need no
    recovery of their own: every sweep reads the overdue actions from the database."""
    ids = Notification.recover_due(timezone.now())
    for notification_id in ids:
        deliver_notification.delay(notification_id)
    return len(ids)
