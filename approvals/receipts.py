"""Approval receipts: the server's signature over what a person (or a policy) approved.

HMAC-SHA256, not Ed25519: the agent-side verifier then needs only the standard library (the
client package depends on httpx alone), and the per-agent secret is derived from one server key
(HMAC of HITL_RECEIPT_KEY and the agent's id), so there is nothing to store or migrate.
`manage.py receipt_secret <agent>` shows an agent's secret to hand to the tools that execute.
The format is specified by `hitl_client/receipts.py`, which checks exactly these bytes.
"""

import hashlib
import hmac
import json
from datetime import timedelta

from django.conf import settings

ALGORITHM = "HMAC-SHA256"
PREFIX = b"countersign-receipt-v1\n"


def agent_secret(agent):
    """The agent's receipt secret (hex); the same for as long as HITL_RECEIPT_KEY is unchanged."""
    message = f"countersign-agent-receipts:{agent.pk}".encode()
    return hmac.new(settings.HITL_RECEIPT_KEY.encode(), message, hashlib.sha256).hexdigest()


def receipt_for(action):
    """The receipt of an approved action (also once executed or failed); None for any other, and
    for a suggestion a person took up: the agent must never run a suggest-level action itself."""
    if action.final_params is None or action.decided_at is None or action.status not in action.APPROVED_STATUSES:
        return None
    if action.autonomy == "suggest":
        return None
    expires_at = int((action.decided_at + timedelta(seconds=settings.HITL_RECEIPT_TTL_SECONDS)).timestamp())
    payload = {
        "action_id": str(action.pk),
        "action": action.action_type.key,
        "params": action.final_params,
        "expires_at": expires_at,
    }
    signed = PREFIX + json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    signature = hmac.new(agent_secret(action.agent).encode(), signed, hashlib.sha256).hexdigest()
    return {**payload, "alg": ALGORITHM, "signature": signature}
