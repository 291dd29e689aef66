"""LISTEN/NOTIFY fan-out: one PostgreSQL LISTEN connection per process, whose notifications wake
the coroutines waiting on a key (an action's id) and feed every subscribed stream.

The connection lives on an event loop of its own, in one thread per process, so waiters on any
loop (an ASGI server's, a test client's) are woken alike, by `call_soon_threadsafe`. When
PostgreSQL goes away the listener reconnects every second; every (re)connection wakes all waiters
and streams once (`None` on a stream), so none misses what happened while it was down.
"""

import asyncio
import logging
import threading

import psycopg
from django.db import connection

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0
KEEPALIVE_SECONDS = 10.0  # a silent connection is checked this often, so a lost one is noticed


def connection_params():
    """libpq's parameters for a connection of its own beside Django's pool (the LISTEN here, the
    start-up check of hitl_site/connection_budget.py), to the database Django uses."""
    return {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in ("context", "cursor_factory", "prepare_threshold")  # Django's, not libpq's
    }


class _Wakeup:
    """An asyncio event on the waiter's loop, settable from the listener's thread."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def set(self):
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the waiter's loop has closed: nobody is waiting any more
            pass


class _Stream:
    """Every notification, queued on the subscriber's loop; `None` means "reconnected, re-read"."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue()

    def put(self, item):
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:
            pass


class Listener:
    """Hears `channels`; `waiter_key(channel, payload)` names whom a notification wakes (or None)."""

    def __init__(self, channels, waiter_key):
        self.channels, self.waiter_key = channels, waiter_key
        self._waiters = {}  # key (str) → set of _Wakeup
        self._streams = set()
        self._lock = threading.Lock()
        self._thread = None
        self._loop = None
        self._stopping = None
        self.connected = threading.Event()

    # --- for waiters (any thread, any loop) ---

    def subscribe(self, action_id):
        self._ensure_running()
        wakeup = _Wakeup()
        with self._lock:
            self._waiters.setdefault(str(action_id), set()).add(wakeup)
        return wakeup

    def unsubscribe(self, action_id, wakeup):
        with self._lock:
            wakeups = self._waiters.get(str(action_id))
            if wakeups is not None:
                wakeups.discard(wakeup)
                if not wakeups:
                    del self._waiters[str(action_id)]

    def subscribe_all(self):
        self._ensure_running()
        stream = _Stream()
        with self._lock:
            self._streams.add(stream)
        return stream

    def unsubscribe_all(self, stream):
        with self._lock:
            self._streams.discard(stream)

    def wake_all(self):
        """Wake every waiter and stream now, from any thread (a process that stops releases them)."""
        self._wake_all()

    def waiting(self):
        """How many waiters are subscribed now (tests and the bench read it)."""
        with self._lock:
            return sum(len(wakeups) for wakeups in self._waiters.values())

    def stop(self):
        """Close the connection and end the thread (tests, before dropping the database)."""
        with self._lock:
            thread, loop, stopping = self._thread, self._loop, self._stopping
            self._thread = None
        if thread is None:
            return
        loop.call_soon_threadsafe(stopping.set)
        thread.join()

    # --- the listening thread ---

    def _ensure_running(self):
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            ready = threading.Event()
            self._thread = threading.Thread(target=self._main, args=(ready,), name="decision-listener", daemon=True)
            self._thread.start()
        ready.wait()

    def _main(self, ready):
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        ready.set()
        try:
            self._loop.run_until_complete(self._run())
        finally:
            self._loop.close()

    async def _run(self):
        params = connection_params()
        while not self._stopping.is_set():
            listening = asyncio.ensure_future(self._listen(params))
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({listening, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not listening.done():
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)
            stopping.cancel()
            self.connected.clear()
            self._wake_all()  # let waiters re-read the database rather than sleep on
            if not self._stopping.is_set():
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self, params):
        try:
            async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as conn:
                for channel in self.channels:
                    await conn.execute(f"LISTEN {channel}")
                self.connected.set()
                self._wake_all()  # anything decided while we were not listening
                while True:
                    async for notify in conn.notifies(timeout=KEEPALIVE_SECONDS):
                        self._dispatch(notify.channel, notify.payload)
                    await conn.execute("SELECT 1")  # raises once the server is gone
        except (psycopg.Error, OSError) as error:
            log.warning("decision listener lost PostgreSQL (%s); retrying", error)

    def _dispatch(self, channel, payload):
        with self._lock:
            wakeups = list(self._waiters.get(self.waiter_key(channel, payload), ()))
            streams = list(self._streams)
        for wakeup in wakeups:
            wakeup.set()
        for stream in streams:
            stream.put((channel, payload))

    def _wake_all(self):
        with self._lock:
            wakeups = [wakeup for wakeups in self._waiters.values() for wakeup in wakeups]
            streams = list(self._streams)
        for wakeup in wakeups:
            wakeup.set()
        for stream in streams:
            stream.put(None)
