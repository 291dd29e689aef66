"""Teams cards' background work; thin wrappers around `teams.delivery`."""

from celery import shared_task
from django.utils import timezone

from teams import delivery
from teams.models import TeamsCard


@shared_task
def dispatch_teams_cards():
    """Start a task for each card to post or update. Run after each change, and every minute as
    the recovery of lost work (settings.CELERY_BEAT_SCHEDULE): the database says what is owed."""
    ids = TeamsCard.dispatch_due(timezone.now())
    for card_id in ids:
        deliver_teams_card.delay(card_id)
    return len(ids)


@shared_task(bind=True, max_retries=None)
def deliver_teams_card(self, card_id):
    """Post or update one card; transient failures come back with backoff, counted on the row."""
    countdown = delivery.deliver(card_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)
