"""The signature on every webhook Countersign sends that is not a decision callback (those follow
Standard Webhooks): escalation notifications, executors, the external checker, the audit witness.

    X-Countersign-Timestamp: <unix seconds>
    X-Countersign-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">

The timestamp is signed with the body, so a receiver can refuse an old body sent again.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Countersign-Signature"
TIMESTAMP_HEADER = "X-Countersign-Timestamp"


def signature(secret, timestamp, body):
    """`sha256=<hex>` over "<timestamp>.<body>" under `secret` (text or bytes)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(secret, body, timestamp=None):
    """The headers of a signed JSON POST of `body` (bytes)."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret, timestamp, body, given):
    """True when `given` is the signature of `body` at `timestamp` under `secret`."""
    return hmac.compare_digest(signature(secret, timestamp, body), given or "")
