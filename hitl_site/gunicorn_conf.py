"""How Countersign is served, in one place: `make run`, the Dockerfile and the bench all start
`gunicorn -c hitl_site/gunicorn_conf.py --bind HOST:PORT`.

The ASGI application (`hitl_site.asgi`: Django, and the MCP gateway at /mcp/) under gunicorn with
the `uvicorn-worker` package's worker class: a request that waits for a decision is a coroutine
and a socket, not a thread, so thousands of agents may wait while the inbox stays fast. Every
waiting agent holds one open file (its socket): the server raises its soft open-file limit to
the hard one (deployments set `ulimit -n` to at least 20000; README, "Serving").
"""

import gc
import os
import resource

from hitl_site.worker import DRAIN_SECONDS

wsgi_app = "hitl_site.asgi:application"
# uvicorn-worker's, draining on SIGTERM: /readyz 503, parked requests answered, nobody dropped.
worker_class = "hitl_site.worker.Worker"
def cores():
    """The cores this process may use: its CPU affinity, or a container's CPU quota when smaller."""
    usable = len(os.sched_getaffinity(0))
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
    except (OSError, ValueError):
        return usable
    return usable if quota == "max" else max(1, min(usable, -(-int(quota) // int(period))))


def default_workers():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
    from hitl_site import connection_budget

    return connection_budget.fitting(cores())


# One process per core the server may use by default: no state lives in a process (MCP sessions,
# held calls and tasks are rows, a decision wakes waiters on every process by NOTIFY), so any
# number works, on any number of hosts, behind any proxy (README, "Replicas behind a proxy").
# Without HITL_WEB_WORKERS, fewer when PostgreSQL takes fewer connections (README, "Connection limits").
workers = int(os.environ.get("HITL_WEB_WORKERS") or default_workers())
# From SIGTERM to the kill: the drain (HITL_DRAIN_SECONDS), then requests in flight finish: a call
# forwarded upstream just before the drain ended may take its upstream's timeout (30 s by default,
# gateway/upstream.py), and uvicorn cancels what is left 2 s before the kill (hitl_site/worker.py).
# README, "Restarting without dropping anyone".
graceful_timeout = int(DRAIN_SECONDS) + 35
accesslog = None


def on_starting(server):
    """Before any worker: refuse a configuration whose processes could open more PostgreSQL
    connections than the server takes (hitl_site/connection_budget.py; gunicorn prints the
    RuntimeError and exits 1), then raise the open-file limit."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
    from hitl_site import connection_budget

    if budget := connection_budget.check(server.cfg.workers):
        server.log.info("PostgreSQL connections: at most %s of the %s available", *budget)
    else:
        server.log.warning("PostgreSQL connections not checked: the server does not answer")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    server.log.info("open-file limit: %s", resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def post_worker_init(worker):
    """Once the application is loaded: what it loaded is never collected, so the collector stops
    scanning it (`gc.freeze()`), and collects young objects less often. Thousands of waiting
    requests are thousands of long-lived objects, and with the default thresholds every page that
    allocates a lot (the inbox) paid for scanning them: the inbox answered twice as slowly with a
    thousand agents waiting, and as fast as without once collections were rarer (`make bench`,
    "inbox p95 with waiting agents")."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
