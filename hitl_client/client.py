"""Synchronous and asynchronous clients for Countersign's agent API (v1).

Both retry what is safe to retry — a dropped connection, a timeout, a 5xx, a 429, and the 409 that
says the same Idempotency-Key is still in flight — and a proposal keeps one generated
Idempotency-Key across its retries, so a retry never creates a second action.
"""

import asyncio
import os
import random
import time
import uuid

import httpx

from hitl_client.errors import (
    ENDED_BY_STATUS,
    Conflict,
    OutputWithheld,
    ServerUnavailable,
    StillPending,
    error_for,
)
from hitl_client.receipts import UsedReceipts, verify_receipt
from hitl_client.tracing import trace_headers

WAITING = ("pending", "suggested")
MAX_POLL_SECONDS = 60  # the server's cap on one long-poll


class _Settings:
    """What the sync and async clients share: configuration, request shapes and the retry policy."""

    def __init__(
        self,
        base_url,
        token,
        *,
        timeout=10.0,
        retries=4,
        backoff=0.25,
        receipt_secret=None,
        used_receipts=None,
        session_id=None,
    ):
        self.origin, self.token = base_url.rstrip("/"), token
        self.base_url = self.origin + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": "hitl-client/0.2"}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.receipt_secret = receipt_secret
        self.used_receipts = used_receipts if used_receipts is not None else UsedReceipts()
        self.session_id = session_id

    @classmethod
    def from_env(cls, **options):
        """COUNTERSIGN_URL, COUNTERSIGN_TOKEN and (optional) COUNTERSIGN_RECEIPT_SECRET."""
        token = os.environ.get("COUNTERSIGN_TOKEN")
        if not token:
            raise RuntimeError("Set COUNTERSIGN_TOKEN to the agent's token (or pass client= to @gate).")
        return cls(
            os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
            token,
            receipt_secret=os.environ.get("COUNTERSIGN_RECEIPT_SECRET") or None,
            **options,
        )

    def _proposal(self, action, params, idempotency_key, fields):
        fields = dict(fields)
        traceparent = fields.pop("traceparent", None)  # a header, not a field of the body
        if self.session_id and "session_id" not in fields:
            fields = {**fields, "session_id": self.session_id}
        body = {"action": action, "params": params, **{k: v for k, v in fields.items() if v is not None}}
        return body, {"Idempotency-Key": idempotency_key or str(uuid.uuid4()), **trace_headers(traceparent)}

    def _escalation(self, kind, message, session_id, action_id):
        body = {"kind": kind, "message": message, "session_id": session_id or self.session_id, "action_id": action_id}
        return {k: v for k, v in body.items() if v is not None}

    def _delay(self, attempt, response):
        retry_after = response is not None and response.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), 30.0)
        return self.backoff * (2**attempt) * (0.5 + random.random() / 2)

    def _outcome(self, response):
        """(result, error, retry): the decoded answer, or the error to raise, and whether to retry first."""
        if response.is_success:
            return response.json(), None, False
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "http_error", "message": response.text[:500]}}
        error = error_for(response.status_code, body)
        transient = (
            response.status_code >= 500
            or response.status_code == 429
            or (response.status_code == 409 and error.code == "idempotency_key_in_flight")
        )
        if response.status_code >= 500:
            error = ServerUnavailable(f"Countersign answered {response.status_code}: {error.message}", error.status)
        return None, error, transient

    def verify(self, action):
        """Check the approved action's receipt against its own final parameters (needs `receipt_secret`)."""
        return verify_receipt(
            action.get("receipt"),
            self.receipt_secret,
            action_id=action["id"],
            action=action["action"],
            params=action["final_params"],
            used=self.used_receipts,
        )


def _wait_step(deadline, poll):
    remaining = deadline - time.monotonic()
    return max(0.0, min(poll, remaining, MAX_POLL_SECONDS))


def under_review(action):
    """Whether the output the agent reported is held for a person (the type reviews outputs)."""
    return (action.get("output_review") or {}).get("status") == "pending"


def _finished(action):
    """The action if it left pending/suggested with something to run or report; raises if it ended,
    or if a person withheld the output it reported."""
    ended = ENDED_BY_STATUS.get(action["status"])
    if ended:
        raise ended(action)
    if (action.get("output_review") or {}).get("status") == "withheld":
        raise OutputWithheld(action)
    return action


def _report_body(succeeded, output, error):
    return {"status": "succeeded" if succeeded else "failed", "output": output, "error": error}


class Client(_Settings):
    """    client = Client("http://127.0.0.1:8000", token="cs_…")
    action = client.propose("payments.refund", {"customer": "cus_1", "amount": 20, "currency": "USD"})
    action = client.wait(action["id"])   # raises Rejected, Expired, Cancelled or StillPending
    """

    def __init__(self, base_url, token, *, transport=None, **options):
        super().__init__(base_url, token, **options)
        self.http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def propose(self, action, params, *, idempotency_key=None, **fields):
        """Propose a tool call; `fields` are the optional proposal fields (session_id, rationale,
        confidence, context…). Returns the action: `approved` (run it), `pending` (wait) or `suggested`."""
        body, headers = self._proposal(action, params, idempotency_key, fields)
        return self._call("POST", "/actions", json=body, headers=headers)

    def get(self, action_id):
        return self._call("GET", f"/actions/{action_id}")

    def wait(self, action_id, *, timeout=300.0, poll=25.0):
        """Long-poll until the action leaves pending/suggested, resuming across each poll's timeout until
        `timeout` seconds have passed. Returns the approved (or executed/dismissed) action; raises
        Rejected, Expired or Cancelled when it ended so, StillPending at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            step = _wait_step(deadline, poll)
            action = self._call("GET", f"/actions/{action_id}/wait", params={"timeout": step}, timeout=step + 10)
            if action["status"] not in WAITING and not under_review(action):
                return _finished(action)
            if time.monotonic() >= deadline:
                raise StillPending(action)

    def report(self, action_id, *, succeeded=True, output=None, error=""):
        """Record what happened when the approved action ran; reporting the same outcome twice is harmless."""
        return self._call("POST", f"/actions/{action_id}/result", json=_report_body(succeeded, output, error))

    def cancel(self, action_id):
        """Withdraw a pending action."""
        try:
            return self._call("POST", f"/actions/{action_id}/cancel")
        except Conflict:
            # A retried cancel whose first attempt went through meets its own cancellation.
            action = self.get(action_id)
            if action["status"] == "cancelled":
                return action
            raise

    def repeat(self, action_id):
        """After an approval with changes, for a framework that can only run its model's arguments: the
        model's next call with exactly `final_params` is approved without a second review."""
        return self._call("POST", f"/actions/{action_id}/repeat")

    def escalate(self, kind, message, *, session_id=None, action_id=None):
        """Forward the end user's "This is wrong" (kind="wrong") or "Get a human" (kind="human")."""
        return self._call("POST", "/escalations", json=self._escalation(kind, message, session_id, action_id))

    def action_types(self):
        return self._call("GET", "/action-types")

    def _call(self, method, path, **kwargs):
        attempt = 0
        while True:
            response = None
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error, transient = ServerUnavailable(f"Countersign could not be reached: {exc!r}"), True
            else:
                result, error, transient = self._outcome(response)
                if error is None:
                    return result
            if not transient or attempt >= self.retries:
                raise error
            time.sleep(self._delay(attempt, response))
            attempt += 1


class AsyncClient(_Settings):
    """The same as `Client`, for agents written with asyncio: every method is a coroutine."""

    def __init__(self, base_url, token, *, transport=None, **options):
        super().__init__(base_url, token, **options)
        self.http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    async def aclose(self):
        await self.http.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def propose(self, action, params, *, idempotency_key=None, **fields):
        body, headers = self._proposal(action, params, idempotency_key, fields)
        return await self._call("POST", "/actions", json=body, headers=headers)

    async def get(self, action_id):
        return await self._call("GET", f"/actions/{action_id}")

    async def wait(self, action_id, *, timeout=300.0, poll=25.0):
        deadline = time.monotonic() + timeout
        while True:
            step = _wait_step(deadline, poll)
            action = await self._call(
                "GET", f"/actions/{action_id}/wait", params={"timeout": step}, timeout=step + 10
            )
            if action["status"] not in WAITING and not under_review(action):
                return _finished(action)
            if time.monotonic() >= deadline:
                raise StillPending(action)

    async def report(self, action_id, *, succeeded=True, output=None, error=""):
        return await self._call("POST", f"/actions/{action_id}/result", json=_report_body(succeeded, output, error))

    async def cancel(self, action_id):
        try:
            return await self._call("POST", f"/actions/{action_id}/cancel")
        except Conflict:
            action = await self.get(action_id)
            if action["status"] == "cancelled":
                return action
            raise

    async def repeat(self, action_id):
        return await self._call("POST", f"/actions/{action_id}/repeat")

    async def escalate(self, kind, message, *, session_id=None, action_id=None):
        return await self._call("POST", "/escalations", json=self._escalation(kind, message, session_id, action_id))

    async def action_types(self):
        return await self._call("GET", "/action-types")

    async def _call(self, method, path, **kwargs):
        attempt = 0
        while True:
            response = None
            try:
                response = await self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error, transient = ServerUnavailable(f"Countersign could not be reached: {exc!r}"), True
            else:
                result, error, transient = self._outcome(response)
                if error is None:
                    return result
            if not transient or attempt >= self.retries:
                raise error
            await asyncio.sleep(self._delay(attempt, response))
            attempt += 1
