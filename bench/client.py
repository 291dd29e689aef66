"""Client-side overhead of an auto-approved call through @gate (propose; the report in the background), p50/p95.

    .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python -m bench.client [--calls 300]

Serves the project with gunicorn as `make run` does (on a free port, over the database the
services point at, migrated and seeded with the demo), then times calls of a
gated no-op on the demo's auto-approved `tickets.tag` type from a real HTTP client. Each call
waits for one round trip — propose (answered `approved`) — which is all @gate adds to a tool call
that policy lets through; its outcome report goes from a background thread meanwhile (and is
waited for after the timing, so every action ends `executed`). Writes its actions under a
`bench-agent`.

`make bench` calls `measure(stack)`: the same calls against the bench's gunicorn, with one of
its agents' tokens, fewer of them at the smaller scales.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import warnings
from io import StringIO
from pathlib import Path

import django
import httpx

from bench.harness import Reading

CALLS_AT = {"tiny": 20, "small": 100, "full": 300}


def serve():
    """gunicorn as `make run` starts it (ASGI, hitl_site/gunicorn_conf.py) on a free port; (url, process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--config",
            str(Path(__file__).resolve().parent.parent / "hitl_site" / "gunicorn_conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/api/v1/openapi.json", timeout=1)
            return url, process
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("gunicorn did not start within 30 s")


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

    url, server = serve()
    try:
        samples = time_calls(url, token, options.calls, options.warmup)
    finally:
        server.terminate()
        server.wait()
    print(f"@gate overhead, auto-approved tickets.tag (propose; report in the background), {options.calls} calls:")
    print(
        f"  p50 {percentile(samples, 0.50):.1f} ms   p95 {percentile(samples, 0.95):.1f} ms   "
        f"mean {statistics.fmean(samples):.1f} ms   max {max(samples):.1f} ms"
    )


def time_calls(url, token, calls, warmup):
    """Milliseconds of each of `calls` gated calls (after `warmup` untimed ones)."""
    from hitl_client import Client, gate, outcomes

    with Client(url, token) as client:

        @gate("tickets.tag", client=client)
        def tag(ticket, tags):
            return {"tagged": ticket}

        for i in range(warmup):
            tag(f"T-warm-{i}", ["bench"])
        samples = []
        for i in range(calls):
            started = time.perf_counter()
            tag(f"T-{i}", ["bench"])
            samples.append((time.perf_counter() - started) * 1000)
        outcomes.flush(timeout=120)  # the reports, sent meanwhile, all land before the next measure

    return samples


def measure(stack):
    calls = CALLS_AT[stack.scale.name]
    samples = time_calls(stack.web_url, stack.actors.tokens[0], calls, warmup=max(5, calls // 10))
    note = f"{calls} calls, one client: p50 {percentile(samples, 0.50):.1f} ms, max {max(samples):.1f} ms"
    return {"client overhead p95": Reading(percentile(samples, 0.95), note=note)}


if __name__ == "__main__":
    main()
