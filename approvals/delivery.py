"""Delivering queued work once: notifications, executions and callbacks are rows that a task claims with
a lease, attempts, hands back to the queue after a transient failure (with backoff, up to a
limit counted on the row), and finishes with a conditional UPDATE. The database, not the
broker, knows what is still owed; `claim_due_work` finds what a lost task left undone.
"""

import json
import re
from datetime import timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hitl_lib.signing import signed_headers

# Worth another attempt: the network, a webhook's 5xx, 408 or 429 (httpx), a mail server
# (smtplib's errors are OSErrors).
TRANSIENT = (httpx.HTTPError, OSError)


class PermanentFailure(Exception):
    """Retrying will not help (a 4xx answer, a malformed address)."""


def attempt(queryset, pk, *, send, failed):
    """Claim the queued row `pk` of `queryset` and `send(row)`, which records the success.
    A permanent failure, or a transient one at the last attempt, goes to `failed(row, error,
    permanent=…)`; an earlier transient one hands the row back to the queue. Returns the
    seconds after which the task should try again, or None when the row is done or not ours."""
    row = claim_work(queryset, pk)
    if row is None:
        return None
    try:
        send(row)
    except PermanentFailure as failure:
        failed(row, str(failure), permanent=True)
        return None
    except TRANSIENT as failure:
        error = f"{type(failure).__name__}: {failure}"
        if row.attempts >= settings.HITL_NOTIFY_MAX_ATTEMPTS:
            failed(row, error, permanent=False)
            return None
        countdown = backoff_seconds(row.attempts)
        retry_work_later(row, error=error, countdown=countdown)
        return countdown
    return None


def claim_work(queryset, pk, now=None):
    """Take one queued notification or execution for this worker, with a lease; the row, or
    None when it is done or another worker holds it."""
    now = now or timezone.now()
    claimed = queryset.filter(pk=pk, status="queued").update(
        status="sending",
        attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=settings.HITL_NOTIFY_LEASE_SECONDS),
    )
    return queryset.get(pk=pk) if claimed == 1 else None


def retry_work_later(row, *, error, countdown):
    """Hand a row back to the queue after a transient failure. The retry task comes first;
    the recovery sweep only if that task is lost too."""
    type(row).objects.filter(pk=row.pk, status="sending").update(
        status="queued",
        last_error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=countdown + settings.HITL_RECOVERY_GRACE_SECONDS),
    )


def finish_work(row, status, **changes):
    """Record the end of a claimed row; False when this worker no longer held it."""
    return type(row).objects.filter(pk=row.pk, status="sending").update(status=status, **changes) == 1


def claim_due_work(model, now, limit=10_000):
    """Ids of `model` rows (notifications, executions) a task should work on now: queued and
    due, or held by a worker past its lease. Each is marked so that it comes round again only
    if its task is lost too (after HITL_RECOVERY_GRACE_SECONDS): the database, not the broker,
    knows what is still owed."""
    with transaction.atomic():
        ids = list(
            model.objects.filter(status__in=["queued", "sending"], next_attempt_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        model.objects.filter(pk__in=ids).update(
            status="queued", next_attempt_at=now + timedelta(seconds=settings.HITL_RECOVERY_GRACE_SECONDS)
        )
    return ids


def backoff_seconds(attempts):
    """Exponential, and never past the broker's visibility timeout: a retry scheduled later
    than that would be delivered twice by Redis."""
    return min(settings.HITL_NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.HITL_NOTIFY_RETRY_MAX_SECONDS)


# Webhooks (escalation notifications, executors) are signed (hitl_lib.signing).


def signed_post(url, payload, headers=None):
    """POST JSON with the signature headers; raises PermanentFailure on a 4xx, httpx errors
    (which are worth retrying) on a network failure or a 5xx."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    headers = {**signed_headers(settings.HITL_WEBHOOK_SECRET, body), **(headers or {})}
    response = httpx.post(url, content=body, headers=headers, timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS)
    return raise_for_answer(response)


def raise_for_answer(response):
    """The response when it is a success (2xx); an httpx error (worth retrying) for a 5xx, 408,
    429, or a redirect (never followed, and no delivery); PermanentFailure for another 4xx."""
    if response.status_code in (408, 429) or response.status_code >= 500:
        response.raise_for_status()
    if response.status_code < 200 or 300 <= response.status_code < 400:
        raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request, response=response)
    if response.status_code >= 400:
        raise PermanentFailure(f"HTTP {response.status_code}: {one_line(response.text, 300)}")
    return response


def one_line(text, limit=200):
    """Email subjects, Slack headlines and recorded errors are one line; agent-supplied text
    and a receiver's answer may hold newlines."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
