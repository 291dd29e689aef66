"""The agent API's bearer-token auth, for sync views and for the async (waiting) ones, and the
per-agent request rate it checks.

The rate is counted in Redis (a fixed window per agent), so it holds across web processes.
When Redis does not answer, or the client fails in any way, requests are let through:
PostgreSQL is the source of truth and an outage of the broker must not stop agents.
"""

import logging
import time
from functools import cache

import redis
from django.conf import settings
from ninja.security import HttpBearer

from hitl_lib.dbthreads import database
from identity import access_tokens
from policies.cache import Policies

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """The agent is over its request rate; the message says so, `retry_after` is the window."""

    def __init__(self):
        limit, self.retry_after = settings.HITL_AGENT_RATE_LIMIT
        super().__init__(f"This agent is over its limit of {limit} requests per {self.retry_after} seconds.")


def bearer_token(header):
    """The token of an `Authorization: Bearer <token>` header's value, or None for anything else."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def agent_for_authorization(header, policies=None):
    """The one way a request's `Authorization` header becomes an agent, for the REST API, `/wait`
    and `/mcp/` alike: the agent of an active token, read through the policies cache (`policies`:
    those the request read, else the current ones), None for anything else; `RateLimited` once
    the agent is over its request rate. A JWT that is no agent token is an OAuth access token
    (identity.access_tokens): its agent, or `InvalidAccessToken` saying what is wrong with it."""
    token = bearer_token(header)
    if token is None:
        return None
    agent = (policies or Policies.current()).agent_for_token(token)
    if agent is None and access_tokens.looks_like_jwt(token):
        agent = access_tokens.agent_for_access_token(token)
    if agent is not None and over_rate(agent):
        raise RateLimited()
    return agent


class AgentBearer(HttpBearer):
    """The agent API's auth (documented as HTTP bearer in OpenAPI)."""

    def __call__(self, request):
        # Read once per request: the view's proposal routes by the same policies (policies/cache.py).
        request.policies = Policies.current()
        return agent_for_authorization(request.headers.get("Authorization"), request.policies)

    def authenticate(self, request, token):  # HttpBearer's, never called: __call__ reads the header
        raise NotImplementedError


class AsyncAgentBearer(AgentBearer):
    """The same check for an async view, run in a database thread: django-ninja would otherwise run
    a sync check in a thread of the request's own, which it would keep while the view waits."""

    async def __call__(self, request):
        return await database(agent_for_authorization, request.headers.get("Authorization"))


@cache
def _redis():
    url = settings.REDIS_URL.replace("redis+socket://", "unix://")
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def over_rate(agent):
    """True when `agent` has used up its requests for the current window."""
    limit, window = settings.HITL_AGENT_RATE_LIMIT
    if not limit:
        return False
    key = f"rate:agent:{agent.pk}:{int(time.time() // window)}"
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count, _ = pipe.execute()
    except Exception as error:  # noqa: BLE001 - any failure of the broker's client is an outage, never a 500
        log.warning("rate limit not checked, Redis unavailable: %s", error)
        return False
    return count > limit
