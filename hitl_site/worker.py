"""The gunicorn worker that serves Countersign: `uvicorn-worker`'s, stopping without dropping anyone.

Gunicorn asks a worker to stop with SIGTERM (its master's own SIGTERM, a HUP's replacement of
the workers, a container's or a unit's stop) and kills it `graceful_timeout` seconds later.
Uvicorn's own graceful shutdown stops accepting at once and then waits for every open request to
end, which a parked agent's `/wait` (up to 60 s) or a held MCP call (until someone decides) does
not do in time: they were cut when gunicorn killed the worker. Here the shutdown first drains
(`hitl_lib.readiness`):

1. `/readyz` answers 503 and, for `HITL_DRAIN_SECONDS`, the worker goes on serving whatever
   reaches it, while load balancers and orchestrators take it out of rotation;
2. it stops accepting, and every parked request is answered at once with what its client retries
   on (README, "Restarting without dropping anyone"); requests in flight finish;
3. what is still running `timeout_graceful_shutdown` later (gunicorn's graceful timeout less the
   drain and a margin) is cancelled, the application's lifespan ends (closing its database
   connections), and the worker exits before gunicorn would kill it.

Gunicorn's `worker_int` and `worker_abort` hooks run on its own workers' quick exits (SIGINT or
SIGQUIT, SIGABRT); this worker's SIGTERM and SIGINT are uvicorn's, so the drain hooks into uvicorn's
`Server.shutdown`, and `graceful_timeout` (hitl_site/gunicorn_conf.py) leaves it the time.
"""

import asyncio
import os
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from hitl_lib import readiness

# How long a stopping process stays in rotation with /readyz at 503: longer than a load balancer
# takes to notice (two failed checks two seconds apart, as deploy/haproxy.cfg's `inter 2s fall 2`;
# a readiness probe's period times its failure threshold).
DRAIN_SECONDS = float(os.environ.get("HITL_DRAIN_SECONDS", "5"))
MARGIN_SECONDS = 2  # between uvicorn cancelling what is left and gunicorn's kill


class DrainingServer(Server):
    def __init__(self, config, drain_seconds):
        super().__init__(config)
        self.drain_seconds = drain_seconds

    async def shutdown(self, sockets=None):
        # Uvicorn's main loop, which tells gunicorn the worker is alive, has ended: go on telling
        # it while draining, or its `timeout` would kill a worker that is only finishing requests.
        heartbeat = asyncio.ensure_future(self._heartbeat())
        try:
            readiness.drain()
            loop = asyncio.get_running_loop()
            until = loop.time() + self.drain_seconds
            while loop.time() < until and not self.force_exit:  # a second Ctrl-C: no more waiting
                await asyncio.sleep(0.1)
            # Released once uvicorn's shutdown has stopped accepting and marked every open
            # connection to close after its answer (the synchronous start of `Server.shutdown`,
            # before its first await): a released agent's next request cannot come back on the
            # same connection.
            loop.call_soon(readiness.release)
            await super().shutdown(sockets)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self):
        while self.config.callback_notify is not None:
            await self.config.callback_notify()
            await asyncio.sleep(1)


class Worker(UvicornWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = max(1, self.cfg.graceful_timeout - DRAIN_SECONDS - MARGIN_SECONDS)

    async def _serve(self):
        # As UvicornWorker._serve, with the draining server.
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config, drain_seconds=DRAIN_SECONDS)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
