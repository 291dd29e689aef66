"""Posting each card and updating it in place, through the delivery loop (`approvals.delivery`):
claimed with a lease, retried with backoff on the Bot Connector's 429 and 5xx, failed for good on
another 4xx."""

from django.utils import timezone

from approvals.delivery import attempt, finish_work
from approvals.models import Action
from teams import cards, connector
from teams.models import TeamsCard


def deliver(card_id):
    """Post or update one card; the seconds after which to try again, or None."""
    return attempt(
        TeamsCard.objects.all(),
        card_id,
        send=_send,
        failed=lambda row, error, permanent: finish_work(row, TeamsCard.Status.FAILED, last_error=error),
    )


def _send(row):
    action = Action.objects.select_related("agent", "action_type", "decision").get(pk=row.action_id)
    content = cards.card(action)
    if row.activity_id:
        connector.update_card(row.service_url, row.conversation_id, row.activity_id, content)
    else:
        row.activity_id = connector.post_card(row.service_url, row.conversation_id, content)
        # Kept at once: a retry after this must update the card, not post a second one.
        TeamsCard.objects.filter(pk=row.pk).update(activity_id=row.activity_id)
    finish_work(row, TeamsCard.Status.SENT, last_error="", shown_status=action.status, sent_at=timezone.now())
    # Decided while this was being posted: the decision's update found nothing posted yet.
    if Action.objects.filter(pk=action.pk).exclude(status=action.status).exists():
        TeamsCard.queue_updates([action.pk])
