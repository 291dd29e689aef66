"""A small synchronous client for Countersign's agent API (v1)."""

import time
import uuid

import httpx

WAITING = ("pending", "suggested")


class ApiError(Exception):
    """Countersign answered with an error: `status`, `code`, `message` and `details`."""

    def __init__(self, status, code, message, details=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class Client:
    def __init__(self, base_url, token, *, timeout=10.0, transport=None):
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def propose(self, action, params, *, idempotency_key=None, **fields):
        """Propose a tool call; `fields` are the optional proposal fields (session_id, rationale…)."""
        body = {"action": action, "params": params, **{k: v for k, v in fields.items() if v is not None}}
        key = idempotency_key or str(uuid.uuid4())
        return self._call("POST", "/actions", json=body, headers={"Idempotency-Key": key})

    def get(self, action_id):
        return self._call("GET", f"/actions/{action_id}")

    def wait(self, action_id, *, timeout=300.0, poll=25.0):
        """Long-poll until the action leaves pending/suggested or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            step = max(0.0, min(poll, remaining))
            action = self._call("GET", f"/actions/{action_id}/wait", params={"timeout": step}, timeout=step + 10)
            if action["status"] not in WAITING or remaining <= poll:
                return action

    def report(self, action_id, *, succeeded=True, output=None, error=""):
        body = {"status": "succeeded" if succeeded else "failed", "output": output, "error": error}
        return self._call("POST", f"/actions/{action_id}/result", json=body)

    def cancel(self, action_id):
        return self._call("POST", f"/actions/{action_id}/cancel")

    def action_types(self):
        return self._call("GET", "/action-types")

    def _call(self, method, path, **kwargs):
        response = self.http.request(method, path, **kwargs)
        if response.is_success:
            return response.json()
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": "http_error", "message": response.text[:500]}
        raise ApiError(response.status_code, error.get("code", ""), error.get("message", ""), error.get("details"))
