"""Decision callbacks, checked by the agent's receiver before it acts on one.

Countersign POSTs each decision on an action with a `callback_url` to that URL, signed per the
Standard Webhooks specification (https://www.standardwebhooks.com): headers `webhook-id`,
`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>` over
`<id>.<timestamp>.<body>` under the agent's `whsec_…` secret, which the admin shows once). The
body is the action exactly as `GET /api/v1/actions/{id}` returns it. Delivery is at least once:
de-duplicate on `webhook-id`, which stays the same across retries of one decision.

The standard library is enough for the check, so this package still depends on httpx alone;
the `standardwebhooks` package, where installed, verifies the same headers.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time

from hitl_client.errors import CallbackInvalid

TOLERANCE_SECONDS = 5 * 60  # as the specification's libraries: older or newer is a replay


def secret_bytes(secret):
    """The key of a `whsec_…` secret (base64 after the prefix)."""
    if isinstance(secret, bytes):
        return secret
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CallbackInvalid("The callback secret is not a whsec_… secret.") from None
    if not key:
        raise CallbackInvalid("The callback secret is empty.")
    return key


def sign(secret, webhook_id, timestamp, body):
    """The `v1,…` signature of one delivery; what the server sends in `webhook-signature`."""
    body = body.encode() if isinstance(body, str) else body
    signed = f"{webhook_id}.{int(timestamp)}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()).decode()


def verify_callback(body, headers, secret, *, tolerance=TOLERANCE_SECONDS, now=None):
    """Check a callback's signature and timestamp; return `(webhook_id, action)`: the id to
    de-duplicate on, and the action (a dict) as the API returns it.

    `body`: the raw request body (bytes, as received: do not re-serialise it); `headers`: any
    mapping of the request's headers (names in any case); `secret`: the agent's `whsec_…` secret.
    Raises CallbackInvalid saying which check failed.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (webhook_id and timestamp and signatures):
        raise CallbackInvalid("The request lacks the webhook-id, webhook-timestamp or webhook-signature header.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise CallbackInvalid("The webhook-timestamp header is not a Unix time.") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise CallbackInvalid("The webhook-timestamp is too far from now: a replay, or a clock that is off.")
    expected = sign(secret, webhook_id, sent_at, body).encode()
    # Space-separated, so that a sender rotating secrets may sign with both for a while.
    given = [signature.encode() for signature in signatures.split() if signature.startswith("v1,")]
    if not any(hmac.compare_digest(expected, signature) for signature in given):
        raise CallbackInvalid("No signature matches: another secret signed it, or the body was altered.")
    try:
        action = json.loads(body)
    except ValueError:
        raise CallbackInvalid("The body is not JSON.") from None
    return webhook_id, action
