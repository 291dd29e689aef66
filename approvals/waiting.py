"""Long-poll support: wake a waiting request the moment its action is decided.

One thread per process LISTENs on PostgreSQL's `action_decided` channel (NOTIFY is sent in
the deciding transaction, so it arrives only once the decision is committed) and sets the
event of every request waiting on that action. If the listener cannot reach the database,
waiters fall back to re-reading the row every second.
"""

import logging
import threading
import time

import psycopg
from django.db import connection

from approvals.models import DECIDED_CHANNEL

log = logging.getLogger(__name__)

FALLBACK_POLL_SECONDS = 1.0


class Listener:
    def __init__(self):
        self._waiters = {}  # action id (str) → set of threading.Event
        self._lock = threading.Lock()
        self._thread = None
        self._stopping = threading.Event()
        self.connected = threading.Event()

    def subscribe(self, action_id):
        self._ensure_running()
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(str(action_id), set()).add(event)
        return event

    def unsubscribe(self, action_id, event):
        with self._lock:
            events = self._waiters.get(str(action_id))
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[str(action_id)]

    def stop(self):
        """End the listening thread and its connection (tests, before dropping the database)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self._stopping.clear()

    def _ensure_running(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="decision-listener", daemon=True)
                self._thread.start()
        self.connected.wait(timeout=2)

    def _run(self):
        params = {
            key: value
            for key, value in connection.get_connection_params().items()
            if key not in ("context", "cursor_factory", "prepare_threshold")  # Django's, not libpq's
        }
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {DECIDED_CHANNEL}")
                    self.connected.set()
                    while not self._stopping.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            self._wake(notify.payload)
            except psycopg.Error as error:
                log.warning("decision listener lost PostgreSQL (%s); retrying", error)
                self._stopping.wait(1)
            self.connected.clear()
            self._wake_all()  # let waiters re-read the database rather than sleep on

    def _wake(self, action_id):
        with self._lock:
            events = list(self._waiters.get(action_id, ()))
        for event in events:
            event.set()

    def _wake_all(self):
        with self._lock:
            events = [event for events in self._waiters.values() for event in events]
        for event in events:
            event.set()


listener = Listener()


def wait_for_decision(action, timeout, still_waiting):
    """Block until `still_waiting(action)` is false or `timeout` seconds pass; returns the
    freshly read action."""
    deadline = time.monotonic() + timeout
    event = listener.subscribe(action.pk)
    try:
        action.refresh_from_db()
        while still_waiting(action):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            step = remaining if listener.connected.is_set() else min(remaining, FALLBACK_POLL_SECONDS)
            event.wait(step)
            event.clear()
            action.refresh_from_db()
    finally:
        listener.unsubscribe(action.pk, event)
    return action
