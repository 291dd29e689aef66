"""Request limits of the agent API: a per-agent request rate, a cap on JSON nesting, and text
that PostgreSQL can store (no NUL character, no lone surrogate).

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


class Unacceptable(ValueError):
    """JSON that parses but cannot be accepted; the message says why."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def check_storable(value, depth_limit):
    """Raise Unacceptable if `value` nests deeper than `depth_limit` or holds text PostgreSQL
    refuses (NUL) or UTF-8 cannot encode (lone surrogates, which JSON escapes allow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth > depth_limit:
                raise Unacceptable("json_too_deep", f"The JSON nests deeper than {depth_limit} levels.")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _check_text(text):
    if "\x00" in text:
        raise Unacceptable("unstorable_text", "Text may not contain the NUL character (\\u0000).")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise Unacceptable("unstorable_text", "Text may not contain unpaired UTF-16 surrogates.") from None


class AgentJsonParser(Parser):
    def parse_body(self, request):
        data = json.loads(request.body)
        check_storable(data, settings.HITL_MAX_JSON_DEPTH)
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
