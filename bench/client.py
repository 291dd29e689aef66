"""Client-side overhead of an auto-approved call through @gate (propose + report), at p50 and p95.

    .venv/bin/python -m hitl_site.services run -- .venv/bin/python -m bench.client [--calls 300]

Serves the project in this process (Django's threaded WSGI server on a free port, over the
database the services point at, migrated and seeded with the demo), then times calls of a
gated no-op on the demo's auto-approved `tickets.tag` type from a real HTTP client. Each call
is two round trips — propose (answered `approved`) and report — which is all @gate adds to a
tool call that policy lets through. Writes its actions under a `bench-agent`.
"""

import argparse
import os
import statistics
import threading
import time
import warnings
from io import StringIO

import django


def serve():
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    options = parser.parse_args()

    warnings.filterwarnings("ignore", "No directory at")  # WhiteNoise, before collectstatic has run
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
    django.setup()
    from django.core.management import call_command

    from policies.models import Agent

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=StringIO())
    agent, _ = Agent.objects.get_or_create(name="bench-agent", defaults={"description": "bench/client.py"})
    token = agent.issue_token(label="bench")

    from hitl_client import Client, gate

    with Client(serve(), token) as client:

        @gate("tickets.tag", client=client)
        def tag(ticket, tags):
            return {"tagged": ticket}

        for i in range(options.warmup):
            tag(f"T-warm-{i}", ["bench"])
        samples = []
        for i in range(options.calls):
            started = time.perf_counter()
            tag(f"T-{i}", ["bench"])
            samples.append((time.perf_counter() - started) * 1000)

    print(f"@gate overhead, auto-approved tickets.tag (propose + report), {options.calls} calls, one client:")
    print(
        f"  p50 {percentile(samples, 0.50):.1f} ms   p95 {percentile(samples, 0.95):.1f} ms   "
        f"mean {statistics.fmean(samples):.1f} ms   max {max(samples):.1f} ms"
    )


if __name__ == "__main__":
    main()
