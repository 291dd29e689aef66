"""This process's readiness, for load balancers and for everything that parks a request.

A web process stops in two steps (`hitl_site.worker`, on SIGTERM):

1. `drain()`: `/readyz` answers 503 from now on, so a load balancer or an orchestrator sends new
   requests elsewhere; for `HITL_DRAIN_SECONDS` the process still serves whatever reaches it,
   parked requests included.
2. `release()`: the process stops accepting connections, and every request parked on it is
   answered at once with what a client already knows how to retry on (an agent's `/wait` with
   the action as it stands, a held MCP call with its way back to the same action, the inbox's
   stream ended so that the browser reconnects): they re-attach to another process. Nothing is
   lost, since what they wait on is a row in PostgreSQL, not something this process holds.

One state per process, set once and never undone: a process that has begun to stop is replaced,
not revived. `on_release(hook)` registers what wakes the parked requests (the LISTEN fan-out).
"""

import threading

_draining = threading.Event()
_released = threading.Event()
_release_hooks = []


def draining():
    """True once this process has been asked to stop: it is no longer ready."""
    return _draining.is_set()


def released():
    """True once parked requests must be answered at once rather than kept waiting."""
    return _released.is_set()


def on_release(hook):
    """Call `hook()` (from any thread) when parked requests are released."""
    _release_hooks.append(hook)


def drain():
    _draining.set()


def release():
    _draining.set()
    if _released.is_set():
        return
    _released.set()
    for hook in _release_hooks:
        hook()
