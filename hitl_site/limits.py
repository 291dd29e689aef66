"""Request limits of the agent API: a per-agent request rate and a cap on JSON nesting.

The rate is counted in Redis (a fixed window per agent), so it holds across web processes.
When Redis does not answer, requests are let through: PostgreSQL is the source of truth and
an outage of the broker must not stop agents.
"""

import json
import logging
import time
from functools import cache

import redis
from django.conf import settings
from ninja.parser import Parser

log = logging.getLogger(__name__)


class TooDeep(ValueError):
    pass


def depth_of(value, limit):
    """How deeply `value` nests, counting no further than `limit + 1`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


class DepthLimitedParser(Parser):
    def parse_body(self, request):
        data = json.loads(request.body)
        limit = settings.HITL_MAX_JSON_DEPTH
        if depth_of(data, limit) > limit:
            raise TooDeep(f"The JSON nests deeper than {limit} levels.")
        return data


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
    except redis.RedisError as error:
        log.warning("rate limit not checked, Redis unavailable: %s", error)
        return False
    return count > limit
