"""The agent API: one NinjaAPI, bearer-token auth per agent, errors in one shape."""

import logging

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.decorators import sync_and_async_middleware
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from approvals.agent_auth import AgentBearer, RateLimited
from approvals.api import router
from approvals.services import record_refusal
from hitl_lib.limits import AgentJsonParser, Unacceptable, read_leniently
from identity.access_tokens import InvalidAccessToken, www_authenticate
from policies.routing import Refusal

log = logging.getLogger(__name__)


api = NinjaAPI(
    title="Countersign agent API",
    version="1",
    description="Ask before a consequential tool call; get the decision back.",
    auth=AgentBearer(),
    parser=AgentJsonParser(),
    urls_namespace="api",
)
api.add_router("/", router)
api.add_router("/humanlayer", "approvals.humanlayer.router")  # the HumanLayer SDK's function_calls API


def error_response(request, status, code, message, details=None):
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details or []}}, status=status
    )


@api.exception_handler(Refusal)  # and ApiError, its subclass
def on_refusal(request, exc):
    return error_response(request, exc.status, exc.code, exc.message, exc.details)


# Where a field this API does not take belongs instead, when an agent's mistake is a common one.
BELONGS = {"untrusted": "list untrusted keys in context.untrusted", "ticket": "put it in context"}


@api.exception_handler(ValidationError)
def on_validation_error(request, exc):
    unknown = [error["loc"][-1] for error in exc.errors if error.get("type") == "extra_forbidden"]
    if unknown:
        hints = {name: f": {BELONGS[name]}" if name in BELONGS else "" for name in unknown}
        details = [{"path": str(name), "message": f"not a field of this request{hints[name]}"} for name in unknown]
        names = ", ".join(f"'{name}'" for name in unknown)
        message = f"Unknown field {names}: nothing was stored. Send only the fields the API lists (/api/v1/docs)."
        return error_response(request, 422, "unknown_field", message, details)
    details = [
        {"path": ".".join(str(p) for p in error.get("loc", ()) if p != "body"), "message": error.get("msg", "")}
        for error in exc.errors
    ]
    return error_response(
        request, 400, "bad_request", "The request does not have the expected fields and types.", details
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    message = "Send a valid agent token or OAuth access token as 'Authorization: Bearer <token>'."
    response = error_response(request, 401, "unauthorized", message)
    response["WWW-Authenticate"] = www_authenticate()  # RFC 9728: where to get an access token
    return response


@api.exception_handler(InvalidAccessToken)
def on_invalid_access_token(request, exc):
    response = error_response(request, exc.status, exc.error, exc.description)
    response["WWW-Authenticate"] = exc.www_authenticate()
    return response


@api.exception_handler(RateLimited)
def on_rate_limited(request, exc):
    response = error_response(request, 429, "rate_limited", str(exc))
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return error_response(request, 413, "body_too_large", "The request body is over the size limit.")


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    if exc.status_code == 400 and isinstance(exc.__cause__, Unacceptable):
        refusal = Refusal(exc.__cause__.status, exc.__cause__.code, str(exc.__cause__))
        _record_unreadable_proposal(request, refusal)
        return error_response(request, refusal.status, refusal.code, refusal.message)
    if exc.status_code == 400:  # ninja's other 400 is a body that is not JSON
        return error_response(request, 400, "malformed_json", "The request body is not valid JSON.")
    return error_response(request, exc.status_code, "error", str(exc))


def _record_unreadable_proposal(request, refusal):
    """A proposal refused before it could be read still names its action: the log keeps it."""
    if request.method != "POST" or not request.path.endswith("/actions") or request.auth is None:
        return
    proposal = read_leniently(request.body)
    if isinstance(proposal, dict):
        record_refusal(agent=request.auth, proposal=proposal, refusal=refusal)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, "not_found", "No such action for this agent.")


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_down(request, exc):
    log.warning("database unavailable: %s", exc)
    return error_response(request, 503, "database_unavailable", "The database is not answering; try again shortly.")


# What the API says for an error that no endpoint answered: a path that is not one, a method an
# endpoint does not take, a failure nobody caught. Django and ninja answer these in HTML or plain
# text; an agent's SDK expects the documented JSON shape from every answer under /api/v1/.
UNANSWERED = {
    404: ("not_found", "There is no such endpoint: {method} {path}. The endpoints are listed at /api/v1/docs."),
    405: ("method_not_allowed", "{path} does not take {method}; it takes {allowed}."),
    500: ("server_error", "Countersign failed to answer this request; the error is logged. Try again later."),
}


@sync_and_async_middleware
def json_errors(get_response):
    """Middleware: an error answer under /api/v1/ that is not JSON becomes the API's error shape.
    Both sync and async, so that the agents waiting on async views hold no thread for it."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return as_api_error(request, await get_response(request))

    else:

        def middleware(request):
            return as_api_error(request, get_response(request))

    return middleware


def as_api_error(request, response):
    if (
        response.status_code < 400
        or not request.path.startswith("/api/v1/")
        or response.get("Content-Type", "").startswith("application/json")
    ):
        return response
    code, message = UNANSWERED.get(response.status_code, ("error", "The request failed ({status})."))
    message = message.format(
        method=request.method,
        path=request.path,
        allowed=response.get("Allow", "").replace(",", ", ") or "no method",
        status=response.status_code,
    )
    answer = JsonResponse({"error": {"code": code, "message": message, "details": []}}, status=response.status_code)
    for header in ("Allow", "Retry-After"):
        if header in response:
            answer[header] = response[header]
    return answer
