"""The inbox's first page with many pending actions, beside an empty inbox.

Server-side: the real URL through Django's full middleware stack, in this process, with a
session logged in through the real authentication backend. The empty inbox belongs to a
reviewer whose only type has no actions, so both pages run the same queries over different rows.
"""

import time

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals.models import Action
from bench.harness import Reading, percentile
from bench.volume import seed_pending

# A page that takes seconds would make a full run take an hour: past this many seconds of one
# page's requests, stop sampling (at least MIN_SAMPLES) and say so in the note.
BUDGET_SECONDS = 60
MIN_SAMPLES = 3


def measure(stack):
    scale = stack.scale
    pending = Action.objects.awaiting_review().count()
    if pending < scale.pending:
        seed_pending(scale.pending - pending)
    empty_ms, empty_queries = first_page(stack.actors.idle_supervisor, scale.samples)
    full_ms, full_queries = first_page(stack.actors.supervisor, scale.samples)
    note = f"{Action.objects.awaiting_review().count():,} pending, {len(full_ms)} requests (empty: {len(empty_ms)})"
    return {
        "inbox first page p95": Reading(percentile(full_ms, 95), percentile(empty_ms, 95), note),
        "inbox first page queries": Reading(full_queries, empty_queries),
    }


def first_page(username, samples):
    """The times of up to `samples` requests (after one to warm up) and the queries of the last."""
    client = Client()
    # force_login: the password form's lockout guard (django-axes) needs a real request.
    client.force_login(User.objects.get(username=username))
    client.get("/")
    times = []
    deadline = time.monotonic() + BUDGET_SECONDS
    while len(times) < samples and (len(times) < MIN_SAMPLES or time.monotonic() < deadline):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            answer = client.get("/")
            times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"the inbox answered {answer.status_code} to {username}")
    return times, len(queries)
