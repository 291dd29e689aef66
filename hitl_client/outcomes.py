"""Outcome reports that never hold up the agent: queued, sent from a background thread, retried.

An approved call's outcome (`POST /actions/{id}/result`) is what turns `approved` into `executed` or
`failed` in the audit log. The tool has already run by then, so a report that cannot be delivered
must neither block the agent's run nor fail it: it is retried in the background, with a doubling
wait, and given up (with a logged warning) after `ATTEMPTS` rounds or on an answer that a retry
cannot change (401, 404, 409: the action was not approved, or was reported already).
"""

import atexit
import json
import logging
import queue
import threading
import time

from hitl_client.client import Client, _report_body
from hitl_client.errors import ApiError, ServerUnavailable

logger = logging.getLogger("hitl_client")

ATTEMPTS = 8  # rounds, each with the client's own retries: about four minutes in all
FIRST_WAIT = 1.0
EXIT_FLUSH_SECONDS = 10.0  # at interpreter exit, how long pending reports may still take


def output_of(result):
    """A tool's return value as the JSON object an outcome report carries."""
    output = result if isinstance(result, dict) else {"result": result}
    try:
        json.dumps(output)
    except (TypeError, ValueError):
        output = {"result": repr(result)}
    return output


def error_of(exc):
    """An exception as the outcome's `error` text (the API caps it at 20,000 characters)."""
    return f"{type(exc).__name__}: {exc}"[:20_000]


class Outcomes:
    """One background sender per Countersign site and token. It talks through a `Client` of its own, so
    the agent's client may be closed (or be an `AsyncClient` on another loop) while reports are pending."""

    def __init__(self, client, *, attempts=ATTEMPTS, first_wait=FIRST_WAIT):
        self.client, self.attempts, self.first_wait = client, attempts, first_wait
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._send_all, name="countersign-outcomes", daemon=True)
        self.thread.start()

    def report(self, action_id, *, succeeded, output=None, error=""):
        """Queue the outcome of an approved action; returns at once."""
        self.report_to(f"/actions/{action_id}/result", succeeded=succeeded, output=output, error=error)

    def report_to(self, path, *, succeeded, output=None, error=""):
        """Queue an outcome for another endpoint that takes the same body (HumanLayer's call ids)."""
        self.queue.put((path, _report_body(succeeded, output, error)))

    def flush(self, timeout=None):
        """Wait until every queued report was delivered or given up; False if `timeout` came first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _send_all(self):
        while True:
            item = self.queue.get()
            try:
                self._send(*item)
            except Exception:  # a bug here must not end the thread that later reports depend on
                logger.exception("Countersign: the outcome for %s could not be reported", item[0])
            finally:
                self.queue.task_done()

    def _send(self, path, body):
        wait = self.first_wait
        for attempt in range(1, self.attempts + 1):
            try:
                self.client._call("POST", path, json=body)
                return
            except ServerUnavailable as exc:
                if attempt == self.attempts:
                    logger.warning("Countersign: gave up reporting the outcome to %s: %s", path, exc)
                    return
            except ApiError as exc:  # 401, 404, 409, 413, 422: no retry changes these
                logger.warning("Countersign refused the outcome sent to %s: %s", path, exc)
                return
            time.sleep(wait)
            wait *= 2


_senders = {}
_senders_lock = threading.Lock()


def outcomes_for(client):
    """The shared background sender for `client`'s site and token (a `Client` or an `AsyncClient`)."""
    key = (client.base_url, client.headers["Authorization"])
    with _senders_lock:
        if key not in _senders:
            own = Client(client.origin, client.token, timeout=client.timeout, backoff=client.backoff)
            _senders[key] = Outcomes(own)
        return _senders[key]


def flush(timeout=None):
    """Wait for every sender's queued reports (delivered or given up); False if `timeout` came first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    return all(
        sender.flush(None if deadline is None else max(0.0, deadline - time.monotonic()))
        for sender in list(_senders.values())
    )


@atexit.register
def _flush_at_exit():
    # A short script (a crew run from the command line) ends right after its tool ran: give its
    # reports a bounded moment rather than dropping them with the daemon thread.
    flush(EXIT_FLUSH_SECONDS)
