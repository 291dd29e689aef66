"""Approval receipts, checked offline by whatever executes an approved action.

Countersign signs every approval with HMAC-SHA256 under a secret of the agent's own (an
operator reads it with `manage.py receipt_secret <agent>` and hands it to the executing tool).
The signature covers the action id, its type, the final parameters and the expiry, so a tool
holding the secret can refuse parameters nobody approved without calling Countersign. A
receipt is good once: the verifier keeps a record of the receipts it has accepted.

This module is the reference for the format; the server's `approvals/receipts.py` signs the same bytes.
"""

import hashlib
import hmac
import json
import sqlite3
import threading
import time

from hitl_client.errors import ReceiptInvalid

ALGORITHM = "HMAC-SHA256"
PREFIX = b"countersign-receipt-v1\n"


def signed_bytes(action_id, action, params, expires_at):
    """The exact bytes a receipt's signature covers: canonical JSON, keys sorted, no spaces."""
    payload = {"action_id": str(action_id), "action": action, "params": params, "expires_at": int(expires_at)}
    return PREFIX + json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret, action_id, action, params, expires_at):
    return hmac.new(secret.encode(), signed_bytes(action_id, action, params, expires_at), hashlib.sha256).hexdigest()


class UsedReceipts:
    """The receipts already accepted. In memory by default; give a path to share the record between
    processes (a SQLite file, whose primary key makes the first claim win)."""

    def __init__(self, path=None):
        self.path = path
        self._seen = set()
        self._lock = threading.Lock()
        if path:
            with sqlite3.connect(path) as db:
                db.execute("CREATE TABLE IF NOT EXISTS used_receipt (action_id TEXT PRIMARY KEY, used_at REAL)")

    def claim(self, action_id):
        """True the first time an action's receipt is claimed, False ever after."""
        if self.path:
            with sqlite3.connect(self.path) as db:
                inserted = db.execute(
                    "INSERT OR IGNORE INTO used_receipt VALUES (?, ?)", (str(action_id), time.time())
                ).rowcount
            return inserted == 1
        with self._lock:
            if str(action_id) in self._seen:
                return False
            self._seen.add(str(action_id))
            return True


def verify_receipt(receipt, secret, *, params, action_id=None, action=None, used=None, now=None):
    """Check that `receipt` approves exactly `params` (and, when given, this action id and type), that it
    has not expired and, with `used`, that it was not used before; then mark it used. Returns the
    receipt. Raises ReceiptInvalid saying which check failed.
    """
    if not secret:
        raise ReceiptInvalid("No receipt secret is configured, so the receipt cannot be checked.")
    if not isinstance(receipt, dict) or receipt.get("alg") != ALGORITHM:
        raise ReceiptInvalid("The action carries no Countersign receipt.")
    try:
        expected = signature(secret, receipt["action_id"], receipt["action"], params, receipt["expires_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReceiptInvalid(f"The receipt is malformed: {exc!r}") from None
    if not hmac.compare_digest(expected, str(receipt.get("signature", ""))):
        raise ReceiptInvalid("The receipt does not approve these parameters (or it was altered).")
    if action_id is not None and str(action_id) != str(receipt["action_id"]):
        raise ReceiptInvalid("The receipt belongs to another action.")
    if action is not None and action != receipt["action"]:
        raise ReceiptInvalid(f"The receipt approves {receipt['action']}, not {action}.")
    if (time.time() if now is None else now) >= int(receipt["expires_at"]):
        raise ReceiptInvalid("The receipt has expired.")
    if used is not None and not used.claim(receipt["action_id"]):
        raise ReceiptInvalid("The receipt was already used.")
    return receipt
