"""Periodic and background work on actions; thin wrappers around domain code.

Every task here is idempotent (it claims its rows with a conditional UPDATE), so it runs with
late acknowledgement: a task lost with its worker is delivered again, or redone by
`dispatch_notifications` from what the database says is still owed.
"""

from celery import shared_task
from django.utils import timezone

from approvals import callbacks, escalation, execution, notifications, slack
from approvals.models import CallbackDelivery, Execution, Notification, SlackMessage
from approvals.models.output_review import withhold_overdue


@shared_task
def escalate_overdue():
    """Warn before, escalate at, and apply the fallback after each pending action's deadline."""
    result = escalation.sweep()
    if result.notifications:
        dispatch_notifications.delay()
    return {"escalated": result.escalated, "fell_back": result.fell_back, "warned": result.warned}


@shared_task
def withhold_overdue_outputs():
    """Output review's SLA fallback: an output nobody reviewed in time is withheld."""
    return {"withheld": withhold_overdue()}


@shared_task
def dispatch_notifications():
    """Start a delivery task for each notification that is due. Run after each sweep, and on
    a schedule as the recovery of lost work: the database says what is still owed (new rows,
    retries whose task vanished with Redis, rows a killed worker held), so nothing is lost
    with a message."""
    ids = Notification.dispatch_due(timezone.now())
    for notification_id in ids:
        deliver_notification.delay(notification_id)
    return len(ids)


@shared_task
def recover_lost_work():
    """Every minute: start again what a lost task left undone (the notifications, as above,
    executions and callbacks). Escalations need no recovery of their own: each sweep reads the overdue
    actions from the database."""
    sent = dispatch_notifications()
    ids = Execution.dispatch_due(timezone.now())
    for action_id in ids:
        execute_action.delay(action_id)
    callback_ids = CallbackDelivery.dispatch_due(timezone.now())
    for callback_id in callback_ids:
        deliver_callback.delay(callback_id)
    return {
        "notifications": sent,
        "executions": len(ids),
        "callbacks": len(callback_ids),
        "slack_messages": dispatch_slack_messages(),
    }


@shared_task(bind=True, max_retries=None)
def deliver_callback(self, callback_id):
    """POST one decision to the action's callback URL; transient failures come back with
    backoff, counted on the row as for notifications."""
    countdown = callbacks.deliver(callback_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task
def dispatch_slack_messages():
    """Start a task for each Slack message to post or update, as `dispatch_notifications` does."""
    ids = SlackMessage.dispatch_due(timezone.now())
    for message_id in ids:
        deliver_slack_message.delay(message_id)
    return len(ids)


@shared_task(bind=True, max_retries=None)
def deliver_slack_message(self, message_id):
    """Post or update one Slack message; transient failures (Slack's 429 and 5xx, the network)
    come back with backoff, counted on the row."""
    countdown = slack.deliver(message_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(bind=True, max_retries=None)
def execute_action(self, action_id):
    """Post an action to its executor webhook; transient failures retry with backoff."""
    countdown = execution.execute(action_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(bind=True, max_retries=None)
def deliver_notification(self, notification_id):
    """Send one notification; transient failures come back with backoff. The attempt limit is
    counted on the row (not by Celery), so a redelivered or recovered task keeps counting."""
    countdown = notifications.deliver(notification_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task
def send_digests():
    """Hourly: queue the digests that are due, then deliver them like any notification."""
    queued = notifications.queue_digests()
    if queued:
        dispatch_notifications.delay()
    return queued
