"""The agent API's bearer-token auth, for sync views and for the async (waiting) ones."""

from ninja.security import HttpBearer

from hitl_site.dbthreads import database
from hitl_site.limits import over_rate
from policies.cache import Policies


class RateLimited(Exception):
    pass


def agent_for_token(token, policies=None):
    """The agent whose token this is (None for an unknown one); `RateLimited` once it is over its rate."""
    agent = (policies or Policies.current()).agent_for_token(token)
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
