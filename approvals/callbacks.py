"""Decision callbacks: each decision or end state of an action with a callback URL is POSTed
there, as the API returns the action, signed per Standard Webhooks with the agent's callback
secret. Rows are claimed, retried and finished by `approvals.delivery`, like notifications;
the URL is checked again before every attempt (its host may resolve elsewhere by now) and the
request goes to the address that was checked. Every attempt is an audit event.
"""

import functools
import json
from datetime import UTC, datetime

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from ninja.renderers import NinjaJSONEncoder
from standardwebhooks import Webhook

from approvals.delivery import PermanentFailure, attempt, finish_work, one_line
from approvals.models import CallbackDelivery
from audit.log import Actor, record
from policies.callback_urls import CallbackUrlRefused, check

ACTOR = Actor.system("callbacks")


def deliver(callback_id):
    """Make one attempt at a callback. Returns the seconds after which to try again, or None
    when it is done (delivered, failed for good, or not ours to send)."""
    return attempt(
        CallbackDelivery.objects.select_related("action__agent", "action__action_type", "action__decision"),
        callback_id,
        send=_send,
        failed=_failed,
    )


@functools.cache
def http_client():
    """One client per process (httpx's are thread-safe): its TLS context is built once, not per
    POST, and a receiver that keeps connections alive is not dialled again for each decision.
    A Client, not httpx.post, because only Client.post takes extensions (TLS's server name)."""
    return httpx.Client(timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS)


def body_of(callback):
    """The bytes to POST: the action as the API returns it, rendered once at the first attempt
    and kept, so that every retry carries the same body under the same webhook-id."""
    if callback.payload is None:
        # `as_api()` is exactly the API's schema (a test holds it there), encoded by the API's own
        # encoder, so that the body is byte for byte what GET would answer.
        callback.payload = json.loads(json.dumps(callback.action.as_api(), cls=NinjaJSONEncoder))
        if not CallbackDelivery.objects.filter(pk=callback.pk, payload__isnull=True).update(payload=callback.payload):
            callback.refresh_from_db(fields=["payload"])  # another attempt fixed it first: send that one
    return json.dumps(callback.payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(callback, body, secret, now=None):
    """The Standard Webhooks headers of one attempt: the id is stable across attempts, the
    timestamp and signature are of this attempt."""
    now = now or datetime.now(UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": callback.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(callback.webhook_id, now, body.decode()),
    }


def _send(callback):
    try:
        target = check(callback.url)
    except CallbackUrlRefused as refusal:
        _record_attempt(callback, ok=False, error=str(refusal))
        raise PermanentFailure(str(refusal)) from None
    body = body_of(callback)
    headers = {**signed_headers(callback, body, callback.action.agent.callback_secret()), "Host": target.host}
    extensions = {"sni_hostname": target.hostname} if callback.url.startswith("https:") else {}
    try:
        response = http_client().post(target.url, content=body, headers=headers, extensions=extensions)
        raise_unless_delivered(response)
    except (httpx.HTTPError, OSError) as failure:
        _record_attempt(callback, ok=False, error=f"{type(failure).__name__}: {failure}")
        raise
    with transaction.atomic():
        if finish_work(callback, CallbackDelivery.Status.SENT, last_error="", sent_at=timezone.now()):
            _record_attempt(callback, ok=True, status_code=response.status_code)


def raise_unless_delivered(response):
    """Only a 2xx is a delivery (Standard Webhooks). A redirect is not followed, since it could
    lead anywhere, loopback included, and is not a delivery either; it and every other status
    are failures, retried like a network error, and after the last try the callback fails."""
    if not response.is_success:
        raise httpx.HTTPStatusError(
            f"HTTP {response.status_code}: {one_line(response.text, 300)}", request=response.request, response=response
        )


def _failed(callback, error, permanent):
    finish_work(callback, CallbackDelivery.Status.FAILED, last_error=error)


def _record_attempt(callback, *, ok, status_code=None, error=""):
    with transaction.atomic():
        record(
            kind="callback.delivered" if ok else "callback.failed",
            actor=ACTOR,
            action=callback.action,
            data={
                "webhook_id": callback.webhook_id,
                "state": callback.state,
                "url": callback.url,
                "attempt": callback.attempts,
                "status_code": status_code,
                "error": error,
            },
        )
