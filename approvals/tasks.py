"""Periodic work on actions; thin wrappers around model methods."""

from celery import shared_task

from approvals.models import Action


@shared_task
def expire_overdue():
    """Expire pending actions past their SLA (the safe fallback: never auto-approve)."""
    return Action.expire_overdue()
