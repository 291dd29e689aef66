"""The sampling task; a thin wrapper around the draw."""

from celery import shared_task

from sampling import drawing


@shared_task
def draw_samples():
    """Draw each action type's share of auto-approved actions into the sample queue."""
    return drawing.draw()
