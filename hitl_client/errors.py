"""What can go wrong when an agent asks Countersign, one exception class per thing it can act on."""


class ApiError(Exception):
    """Countersign answered with an error: `status`, `code`, `message` and `details`."""

    def __init__(self, status, code, message, details=None):
        # No status where no answer came (Countersign unreachable): say the code alone, not "None …".
        super().__init__(f"{status} {code}: {message}" if status is not None else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class Unauthorized(ApiError):
    """401: no token, a wrong one, or a revoked one."""


class Forbidden(ApiError):
    """403: the agent or this action type is paused with "block"; `message` says why."""


class NotFound(ApiError):
    """404: no such action for this agent."""


class Conflict(ApiError):
    """409: the action is not in a state that allows this (for example reporting on a pending one)."""


class InvalidParams(ApiError):
    """422 params_invalid: `errors` lists every schema error ({"path", "message"}), for a repair loop."""

    @property
    def errors(self):
        return self.details


class ServerUnavailable(ApiError):
    """Countersign could not be reached, or kept answering 5xx, through every retry."""

    def __init__(self, message, status=None):
        super().__init__(status, "server_unavailable", message)


class ActionEnded(Exception):
    """The action ended without an approval; `action` is its last state as the API returned it."""

    def __init__(self, action, message):
        super().__init__(message)
        self.action = action


class Rejected(ActionEnded):
    """A person rejected the action; `reason` is what they wrote."""

    def __init__(self, action):
        decision = action.get("decision") or {}
        self.reason = decision.get("reason", "")
        by = decision.get("by") or "a reviewer"
        super().__init__(action, f"{action['action']} rejected by {by}: {self.reason or 'no reason given'}")


class Expired(ActionEnded):
    """Nobody decided before the action's SLA ran out; the timeout fallback rejected it."""

    def __init__(self, action):
        super().__init__(action, f"{action['action']} expired without a decision")


class Cancelled(ActionEnded):
    """The action was withdrawn before anyone decided."""

    def __init__(self, action):
        super().__init__(action, f"{action['action']} was cancelled")


class OutputWithheld(ActionEnded):
    """The type reviews outputs and a person withheld this one: do not give it to the model."""

    def __init__(self, action):
        review = action.get("output_review") or {}
        self.note = review.get("note", "")
        by = review.get("by") or "a reviewer"
        super().__init__(action, f"{action['action']}'s output was withheld by {by}: {self.note or 'no reason given'}")


class StillPending(ActionEnded, TimeoutError):
    """`wait()` reached its deadline and the action is still waiting for a person."""

    def __init__(self, action):
        super().__init__(action, f"{action['action']} is still {action['status']} at the deadline")


class ReceiptInvalid(Exception):
    """An approval receipt does not prove that exactly these parameters were approved, or is spent."""


class CallbackInvalid(Exception):
    """A decision callback's signature or timestamp does not check out: do not act on it."""


ERRORS_BY_STATUS = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}
ENDED_BY_STATUS = {"rejected": Rejected, "expired": Expired, "cancelled": Cancelled}


def error_for(status, body):
    """The typed exception for an error answer ({"error": {"code", "message", "details"}})."""
    try:
        error = body["error"]
        code, message, details = error.get("code", ""), error.get("message", ""), error.get("details")
    except (KeyError, TypeError, AttributeError):
        code, message, details = "http_error", str(body)[:500], None
    if status == 422 and code == "params_invalid":
        return InvalidParams(status, code, message, details)
    return ERRORS_BY_STATUS.get(status, ApiError)(status, code, message, details)
