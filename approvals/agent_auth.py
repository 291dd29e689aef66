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

from approvals.dbthreads import database
from identity import access_tokens
from policies.cache import Policies

log = logging.getLogger(__name__)


class RateLimited(Exception):
    pass


def agent_for_token(token, policies=None):
    """The agent whose token this is (None for an unknown one); `RateLimited` once it is over its rate.
    A JWT that is no agent token is an OAuth access token: its agent, or `InvalidAccessToken`."""
    agent = (policies or Policies.current()).agent_for_token(token)
    if agent is None and access_tokens.looks_like_jwt(token):
        agent = access_tokens.agent_for_access_token(token)
    if agent is not None and over_rate(agent):
        raise RateLimited()
    return agent


class AgentBearer(HttpBearer):
    def authenticate(self, request, token):
        # Read once per request: the view's proposal routes by the same policies (policies/cache.py).
        request.policies = Policies.current()
        return agent_for_token(token, request.policies)


class AsyncAgentBearer(HttpBearer):
    """The same check for an async view, run in a database thread: django-ninja would otherwise run
    a sync check in a thread of the request's own, which it would keep while the view waits."""

    async def authenticate(self, request, token):
        return await database(agent_for_token, token)


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
