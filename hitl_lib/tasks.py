"""Handing work to Celery by the task's name, so that a model can queue a task without importing
the module that defines it (which imports the models: a cycle)."""

import logging
from functools import partial

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue(task, *args):
    """Send `task` (a task or its registered name) to the broker now. With Redis down this only
    logs: the committed rows are the work, and the recovery sweep dispatches it again."""
    name = task if isinstance(task, str) else task.name
    try:
        current_app.send_task(name, args=args)
    except Exception as error:  # kombu's connection errors have no common base with redis-py's
        log.warning("could not enqueue %s (the recovery sweep will): %s", name, error)


def enqueue_on_commit(task, *args):
    """Hand `task` to the broker once the transaction commits."""
    transaction.on_commit(partial(enqueue, task, *args))
