"""Waiting for a decision costs a coroutine, not a thread.

The process's listener (`hitl_lib.listen`) hears PostgreSQL's `action_changed` channel — each
change is announced in its own transaction (`approvals.models.announce`), so it arrives only once
committed — and wakes every coroutine waiting on that action. The inbox's Server-Sent Events
hear every notification's kind of change.

When PostgreSQL goes away the listener reconnects every second; until it is back, waiters
re-read their row every `FALLBACK_POLL_SECONDS` instead of trusting a wake-up that cannot come.
"""

import asyncio
import logging
import time

from django.db import InterfaceError, OperationalError
from prometheus_client import Gauge

from approvals.models import ACTION_CHANNEL, INBOX_CHANNEL, Action
from hitl_lib import readiness
from hitl_lib.dbthreads import database
from hitl_lib.listen import Listener
from policies.models import ActionType, Agent

log = logging.getLogger(__name__)

FALLBACK_POLL_SECONDS = 1.0


def _waiter_key(channel, payload):
    """An action's change wakes the agents waiting on that action ("<kind> <id>")."""
    return payload.rpartition(" ")[2] if channel == ACTION_CHANNEL else None


listener = Listener((ACTION_CHANNEL, INBOX_CHANNEL), _waiter_key)
# A process that stops answers its parked requests at once (hitl_lib.readiness): wake them all.
readiness.on_release(listener.wake_all)

# Exposed on /metrics (insights.metrics): what waiting costs this process, for operators and the bench.
WAITING_REQUESTS = Gauge(
    "countersign_waiting_requests",
    "Requests in this process parked until a decision (agents on /wait, held MCP calls).",
)


async def wait_until(action_id, timeout, done, shape=lambda action: action, *, drain=True):
    """Wait until `done(shape(action))` for the action `action_id` (loaded with its type, agent and
    decision), or `timeout` seconds pass (`None`: for ever); returns the last shape. `shape` runs
    in a database thread and receives `None` for an action that does not exist.

    With `drain`, a process that stops (`hitl_lib.readiness.released()`) ends the wait at once, as
    a timeout would: the caller answers with what it has, and the client re-attaches elsewhere.

    The first read's errors are the caller's (a 404, a 503); once waiting, a read that fails
    because PostgreSQL is away is tried again at the next wake-up or poll, and the waiter goes on."""
    deadline = None if timeout is None else time.monotonic() + timeout
    wakeup = listener.subscribe(action_id)
    try:
        now = await read_action(action_id, shape)
        while not done(now):
            if drain and readiness.released():
                break
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
STREAM_RELEASE_RETRY_MS = 250  # how soon it reconnects a stream ended by a process that stops


def _kind(channel, payload):
    """What an inbox hears of a notification: its kind of change ("" for none it shows)."""
    return payload.partition(" ")[0] if channel == ACTION_CHANNEL else payload


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
            if readiness.released():
                # This process stops: the browser reconnects (soon, and through the load balancer
                # to another process), and its "connected" there has the inbox ask anew.
                yield f"retry: {STREAM_RELEASE_RETRY_MS}\n\n"
                return
            try:
                item = await asyncio.wait_for(stream.queue.get(), STREAM_KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(STREAM_COALESCE_SECONDS)
            kinds = {item}
            while not stream.queue.empty():
                kinds.add(stream.queue.get_nowait())
            changes = sorted({_kind(channel, payload) for channel, payload in filter(None, kinds)} - {""})
            if None in kinds:
                changes.append("reconnected")
            if changes:
                yield f"event: changed\ndata: {' '.join(changes)}\n\n"
    finally:
        listener.unsubscribe_all(stream)
