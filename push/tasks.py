"""Delivering push messages; thin wrappers around push.messages, as approvals.tasks."""

from celery import shared_task
from django.utils import timezone

from push import messages
from push.models import PushMessage


@shared_task
def dispatch_push_messages():
    """Start a task for each push message that is due: after each queueing, and every minute as
    the recovery of tasks lost with Redis (the rows say what is still owed)."""
    ids = PushMessage.dispatch_due(timezone.now())
    for message_id in ids:
        deliver_push_message.delay(message_id)
    return len(ids)


@shared_task(bind=True, max_retries=None)
def deliver_push_message(self, message_id):
    """Send one push message; transient failures (the push service's 429 and 5xx, the network)
    come back with backoff, counted on the row."""
    countdown = messages.deliver(message_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)
