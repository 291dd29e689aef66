"""`GET /api/v1/actions/{id}/wait`, answered on the event loop from end to end.

One batch approval wakes a hundred agents at once, and one process answers them one after
another. Through Django's handler each answer passed every middleware (sessions, CSRF, messages:
a hand-off to a thread and back each, both ways), the request signals (another hand-off) and
ninja's validation of the answer: the hundredth agent heard of its approval 100–120 ms after the
batch's answer (`make bench`, "waking waiting agents p95"; its target is 50 ms).

An agent's long-poll carries a bearer token, no cookie and no form: of the middleware only what
sets headers concerns it. So a well-formed `/wait` is answered here, by the route's own function
(`approvals.api.wait_for_decision`), its errors by the API's own handlers, through the
middleware that sets headers on every answer (security headers, the API's error shape,
Content-Length, X-Frame-Options, CSP), on the event loop: its only threads are the database
threads that check its token and read its action (that read shared with the agents woken
alongside it). Its answer is the action's API shape, `Action.as_api()`, which is the route's
schema exactly. Everything else on that path — another method, an id or a timeout
written otherwise than SDKs write them, no bearer token — goes to Django, which answers it as
it answers any endpoint. `tests/test_long_poll.py` holds the two to the same answers.
"""

import asyncio
import re
from uuid import UUID

from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.log import log_response
from ninja.errors import AuthenticationError

from approvals.agent_auth import agent_for_authorization
from approvals.api import WAIT_DEFAULT_SECONDS, wait_for_decision
from hitl_lib.dbthreads import database
from hitl_site.api import api, json_errors
from hitl_site.middleware import CommonMiddleware, CSPMiddleware, SecurityMiddleware, XFrameOptionsMiddleware

# An id and a timeout as agents' SDKs write them (`hitl_client` sends a float's repr: 12.345678901234567, 5e-05).
PATH = re.compile(r"/api/v1/actions/([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})/wait")
QUERY = re.compile(rb"(?:timeout=([0-9]{1,9}(?:\.[0-9]{1,20})?(?:e-?[0-9]{1,3})?))?")
BEARER = re.compile(rb"[Bb][Ee][Aa][Rr][Ee][Rr] (.+)")

# In the order of settings.MIDDLEWARE, outermost first (tests/test_long_poll.py checks it against
# the setting, and that what it leaves out is nothing an agent's GET needs).
HEADER_MIDDLEWARE = (SecurityMiddleware, json_errors, CommonMiddleware, XFrameOptionsMiddleware, CSPMiddleware)


class LongPoll:
    """An ASGI application for `/wait`; `django` (an `ASGIHandler`) answers what it does not."""

    def __init__(self, django: ASGIHandler):
        self.django = django
        # As Django builds its chain: an exception in a middleware (a disallowed host) or an
        # unhandled one in the view is answered as Django answers it.
        chain = convert_exception_to_response(self.respond)
        for middleware in reversed(HEADER_MIDDLEWARE):
            chain = convert_exception_to_response(middleware(chain))
        self.chain = chain

    async def __call__(self, scope, receive, send):
        wait = self.well_formed(scope)
        if wait is None:
            # Django answers it, but outside the context in which Django gives each request a
            # thread of its own for its sync middleware, kept until the request ends: a `/wait`
            # written otherwise (`timeout=1e1`) waits too, and must not hold an idle thread.
            await self.django.handle(scope, receive, send)
            return
        try:
            body = await self.django.read_body(receive)
        except RequestAborted:
            return
        request, error = self.django.create_request(scope, body)
        if request is None:
            body.close()
            await self.django.send_response(error, send)
            return
        request.long_poll = wait
        # As Django does: an agent that hangs up stops waiting.
        answering = asyncio.ensure_future(self.answer(request, send))
        hanging_up = asyncio.ensure_future(self.django.listen_for_disconnect(receive))
        try:
            await asyncio.wait((answering, hanging_up), return_when=asyncio.FIRST_COMPLETED)
            for task in (hanging_up, answering):
                if not task.done():
                    task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, RequestAborted):
                    pass
        finally:
            body.close()

    @staticmethod
    def well_formed(scope):
        """(action id, timeout, Authorization header) for a `/wait` this answers, else None."""
        path, query = PATH.fullmatch(scope["path"]), QUERY.fullmatch(scope["query_string"])
        if scope["method"] != "GET" or path is None or query is None:
            return None
        tokens = [BEARER.fullmatch(value) for name, value in scope["headers"] if name == b"authorization"]
        if len(tokens) != 1 or tokens[0] is None:
            return None
        timeout = float(query[1]) if query[1] else WAIT_DEFAULT_SECONDS
        return UUID(path[1]), timeout, tokens[0][0].decode("latin-1")

    async def answer(self, request, send):
        response = await self.chain(request)
        if response.status_code >= 400:  # logged as Django logs every error answer
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        await self.django.send_response(response, send)

    async def respond(self, request):
        action_id, timeout, authorization = request.long_poll
        try:
            request.auth = await database(agent_for_authorization, authorization)
            if request.auth is None:
                raise AuthenticationError()
            # `as_api()` is the route's schema already (tests/test_api_actions.py holds it to
            # `ActionOut`): checking it again, as ninja does, was a third of each answer's time.
            return api.create_response(request, await wait_for_decision(request.auth, action_id, timeout), status=200)
        except Exception as error:  # noqa: BLE001 - as the API's handlers answer it (re-raised when none does)
            return api.on_exception(request, error)
