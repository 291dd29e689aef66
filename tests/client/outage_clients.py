"""Clients for the outage matrix, built from a JSON-able spec so that CrewAI's own virtualenv (a
separate process, see test_crewai.py) builds exactly the client the in-process tests use. No Django."""

import httpx

from hitl_client import Client


def _adapter_bug(request):
    raise RuntimeError("a bug in the agent's stack")  # not a transport error: nothing retries it


def client_for(spec):
    """A `Client` for `{"url", "token", "timeout"?, "broken"?}`: `broken` makes every request raise."""
    transport = httpx.MockTransport(_adapter_bug) if spec.get("broken") else None
    return Client(
        spec["url"], spec["token"], timeout=spec.get("timeout", 10.0), retries=1, backoff=0.01, transport=transport
    )
