"""Waiting for a decision costs a coroutine, not a thread.

One LISTEN connection per process (psycopg's `AsyncConnection`, read with `notifies()`) hears
PostgreSQL's `action_decided` channel — NOTIFY is sent in the deciding transaction, so it
arrives only once the decision is committed — and wakes every coroutine waiting on that action.
The connection lives on an event loop of its own, in one thread per process, so waiters on any
loop (an ASGI server's, a test client's) are woken alike, by `call_soon_threadsafe`.

When PostgreSQL goes away the listener reconnects every second; until it is back, waiters
re-read their row every `FALLBACK_POLL_SECONDS` instead of trusting a wake-up that cannot come.
Every (re)connection wakes all waiters once, so none misses a decision made while it was down.

`subscribe_all()` gives a stream (the inbox's Server-Sent Events) every notification on the
channels the listener hears.
"""

import asyncio
import logging
import threading
import time

import psycopg
from django.db import InterfaceError, OperationalError, connection
from prometheus_client import Gauge

from approvals.models import DECIDED_CHANNEL, INBOX_CHANNEL, Action
from hitl_lib.dbthreads import database
from policies.models import ActionType, Agent

log = logging.getLogger(__name__)

FALLBACK_POLL_SECONDS = 1.0
RECONNECT_SECONDS = 1.0
KEEPALIVE_SECONDS = 10.0  # a silent connection is checked this often, so a lost one is noticed
CHANNELS = (DECIDED_CHANNEL, INBOX_CHANNEL)


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
    def __init__(self):
        self._waiters = {}  # action id (str) → set of _Wakeup
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

    def _params(self):
        return {
            key: value
            for key, value in connection.get_connection_params().items()
            if key not in ("context", "cursor_factory", "prepare_threshold")  # Django's, not libpq's
        }

    async def _run(self):
        params = self._params()
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
                for channel in CHANNELS:
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
            wakeups = list(self._waiters.get(payload, ())) if channel == DECIDED_CHANNEL else []
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


listener = Listener()

# Exposed on /metrics (insights.metrics): what waiting costs this process, for operators and the bench.
WAITING_REQUESTS = Gauge(
    "countersign_waiting_requests",
    "Requests in this process parked until a decision (agents on /wait, held MCP calls).",
)


async def wait_until(action_id, timeout, done, shape=lambda action: action):
    """Wait until `done(shape(action))` for the action `action_id` (loaded with its type, agent and
    decision), or `timeout` seconds pass (`None`: for ever); returns the last shape. `shape` runs
    in a database thread and receives `None` for an action that does not exist.

    The first read's errors are the caller's (a 404, a 503); once waiting, a read that fails
    because PostgreSQL is away is tried again at the next wake-up or poll, and the waiter goes on."""
    deadline = None if timeout is None else time.monotonic() + timeout
    wakeup = listener.subscribe(action_id)
    try:
        now = await read_action(action_id, shape)
        while not done(now):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            if not listener.connected.is_set():
                remaining = FALLBACK_POLL_SECONDS if remaining is None else min(remaining, FALLBACK_POLL_SECONDS)
            WAITING_REQUESTS.inc()
            try:
                async with asyncio.timeout(remaining):  # no task of its own, as wait_for would make
                    await wakeup.event.wait()
            except TimeoutError:
                pass
            finally:
                WAITING_REQUESTS.dec()
            wakeup.event.clear()
            try:
                now = await read_action(action_id, shape)
            except (OperationalError, InterfaceError) as error:  # PostgreSQL away: keep waiting, re-read later
                log.info("waiter could not re-read action %s (%s); trying again", action_id, error)
    finally:
        listener.unsubscribe(action_id, wakeup)
    return now


# Waiters woken together read together: the reads asked for in one turn of an event loop are made
# by one query in one database thread. A batch approval of a hundred actions wakes a hundred
# agents at once, and a hundred single reads queued on a few threads would keep the last waiting.
_reads = {}  # event loop → [(action id, shape, future)] asked for in its current turn


async def read_action(action_id, shape):
    """`shape(action)` for the action as it is now, read with every other read asked for meanwhile."""
    loop = asyncio.get_running_loop()
    pending = _reads.get(loop)
    if pending is None:
        pending = _reads[loop] = []
        loop.call_soon(lambda: loop.create_task(_read_together(_reads.pop(loop))))
    future = loop.create_future()
    pending.append((str(action_id), shape, future))
    return await future


async def _read_together(reads):
    try:
        results = await database(_read_and_shape, [(pk, shape) for pk, shape, _ in reads])
    except Exception as error:  # noqa: BLE001 - every waiter hears it, as its own read would
        results = [(False, error)] * len(reads)
    for (_, _, future), (ok, value) in zip(reads, results):
        if future.done():  # its waiter was cancelled meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _read_and_shape(reads):
    """In a database thread: the actions in one query, each shaped by its own waiter's `shape`.
    Their types and agents are read once each, not joined to every row: a batch's hundred rows
    are mostly one type's schema and one agent's, and loading them was half the read."""
    wanted = {pk for pk, _ in reads}
    actions = {str(action.pk): action for action in Action.objects.select_related("decision").filter(pk__in=wanted)}
    types = ActionType.objects.in_bulk({action.action_type_id for action in actions.values()})
    agents = Agent.objects.in_bulk({action.agent_id for action in actions.values()})
    for action in actions.values():
        action.action_type, action.agent = types[action.action_type_id], agents[action.agent_id]
    results = []
    for pk, shape in reads:
        try:
            results.append((True, shape(actions.get(pk))))
        except Exception as error:  # noqa: BLE001 - that waiter's error (a 404), not the others'
            results.append((False, error))
    return results


STREAM_KEEPALIVE_SECONDS = 15.0  # a comment line this often, so proxies keep the stream open
STREAM_COALESCE_SECONDS = 0.1  # changes closer together than this are sent as one event
STREAM_RETRY_MS = 2000  # how soon a browser reconnects a dropped stream


async def inbox_events():
    """The inbox's Server-Sent Events: `changed` (its data the kind of change) whenever what an
    inbox shows may have changed, and once on connecting and after the listener reconnects, so
    that nothing changed meanwhile goes unseen. A burst of changes is sent as one event."""
    stream = listener.subscribe_all()
    try:
        # A listener that has just started wakes its streams once it is connected: that is the
        # "connected" below, not a reconnection.
        for _ in range(50):
            if listener.connected.is_set():
                break
            await asyncio.sleep(0.1)
        while not stream.queue.empty():
            stream.queue.get_nowait()  # the "connected" below has every inbox ask anew anyway
        yield f"retry: {STREAM_RETRY_MS}\nevent: changed\ndata: connected\n\n"
        while True:
            try:
                item = await asyncio.wait_for(stream.queue.get(), STREAM_KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(STREAM_COALESCE_SECONDS)
            kinds = {item}
            while not stream.queue.empty():
                kinds.add(stream.queue.get_nowait())
            changes = sorted(payload for channel, payload in filter(None, kinds) if channel == INBOX_CHANNEL)
            if None in kinds:
                changes.append("reconnected")
            if changes:
                yield f"event: changed\ndata: {' '.join(changes)}\n\n"
    finally:
        listener.unsubscribe_all(stream)
