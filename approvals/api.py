"""The agent API (v1): propose, read, wait for, report on and cancel actions."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from approvals.models import Action, Conflict
from approvals.services import InFlight, KeyReused, action_propose
from approvals.waiting import wait_for_decision
from policies.models import ActionType
from policies.routing import Refusal

router = Router(tags=["actions"])


class ApiError(Exception):
    """Answered as {"error": {"code", "message", "details"}} with `status`."""

    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class ErrorBody(Schema):
    code: str = Field(examples=["params_invalid"])
    message: str
    details: list[Any] = []


class ErrorOut(Schema):
    error: ErrorBody


class ProposalIn(Schema):
    action: str = Field(min_length=1, max_length=200, examples=["payments.refund"])
    params: dict[str, Any] = Field(examples=[{"customer": "cus_123", "amount": 750, "currency": "USD"}])
    session_id: str | None = Field(None, max_length=200, examples=["run-42"])
    on_behalf_of: str | None = Field(None, max_length=200, examples=["alice@example.com"])
    model: str | None = Field(None, max_length=200, examples=["gpt-5.1"])
    prompt_version: str | None = Field(None, max_length=200, examples=["billing-agent@v7"])
    confidence: float | Literal["low", "medium", "high"] | None = Field(None, examples=[0.62])
    rationale: str | None = Field(None, max_length=20_000)
    context: dict[str, Any] | None = Field(None, examples=[{"ticket": "T-981", "untrusted": ["ticket.body"]}])
    batch: str | None = Field(None, max_length=200, examples=["refunds-2026-11-24"])


class DecisionOut(Schema):
    verdict: Literal["approved", "rejected"]
    edited: bool
    by: str
    at: datetime
    reason: str


class RouteOut(Schema):
    reasons: list[str]
    checkers: list[dict[str, Any]]


class ReceiptOut(Schema):
    """The server's HMAC-SHA256 signature over what was approved; see `hitl_client.verify_receipt()`."""

    action_id: UUID
    action: str = Field(examples=["payments.refund"])
    params: dict[str, Any] = Field(description="The final parameters: exactly what may be executed.")
    expires_at: int = Field(description="Unix time (seconds) after which the receipt is void.", examples=[1795539600])
    alg: Literal["HMAC-SHA256"]
    signature: str = Field(
        description="Hex HMAC-SHA256, under the agent's receipt secret, of `countersign-receipt-v1\\n` followed by "
        "the canonical JSON (sorted keys, no spaces) of action_id, action, params and expires_at."
    )


class ActionOut(Schema):
    id: UUID
    action: str
    status: str
    autonomy: str
    summary: str
    params: dict[str, Any]
    final_params: dict[str, Any] | None
    route: RouteOut
    decision: DecisionOut | None
    outcome: dict[str, Any] | None
    session_id: str
    batch: str
    due_at: datetime | None
    created_at: datetime
    review_url: str
    receipt: ReceiptOut | None = Field(None, description="Present once the action is approved (or has run).")


class ResultIn(Schema):
    status: Literal["succeeded", "failed"]
    output: dict[str, Any] | None = None
    error: str = Field("", max_length=20_000)


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


@router.post("/actions", response={200: ActionOut, 201: ActionOut, **ERRORS})
def propose(request, proposal: ProposalIn):
    """Propose a tool call. The answer says whether to run it now (`approved`), wait
    (`pending`), or not run it (`suggested`)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise ApiError(400, "bad_idempotency_key", "Idempotency-Key must be 1 to 255 characters.")
    try:
        action, created = action_propose(
            agent=request.auth, proposal=proposal.dict(exclude_none=True), idempotency_key=key
        )
    except Refusal as refusal:
        raise ApiError(refusal.status, refusal.code, refusal.message, refusal.details) from None
    except InFlight:
        raise ApiError(
            409, "idempotency_key_in_flight", "A request with this Idempotency-Key is still in progress."
        ) from None
    except KeyReused:
        raise ApiError(
            422, "idempotency_key_reused", "This Idempotency-Key was already used with a different request body."
        ) from None
    return Status(201 if created else 200, action.as_api())


def _get_own_action(request, action_id):
    return get_object_or_404(
        Action.objects.select_related("action_type", "agent", "decision"), pk=action_id, agent=request.auth
    )


@router.get("/actions/{action_id}", response={200: ActionOut, **ERRORS})
def get_action(request, action_id: UUID):
    return _get_own_action(request, action_id).as_api()


WAITING = {Action.Status.PENDING, Action.Status.SUGGESTED}


@router.get("/actions/{action_id}/wait", response={200: ActionOut, **ERRORS})
def wait(request, action_id: UUID, timeout: float = 25):
    """Long-poll: answers as soon as the action leaves `pending` or `suggested`, or after
    `timeout` seconds (at most 60) with its current state."""
    if not 0 <= timeout <= settings.HITL_WAIT_MAX_SECONDS:
        raise ApiError(400, "bad_timeout", f"timeout must be between 0 and {settings.HITL_WAIT_MAX_SECONDS} seconds.")
    action = wait_for_decision(
        _get_own_action(request, action_id), timeout, still_waiting=lambda a: a.status in WAITING
    )
    return action.as_api()


@router.post("/actions/{action_id}/result", response={200: ActionOut, **ERRORS})
def report_result(request, action_id: UUID, result: ResultIn):
    """Record what happened when the agent executed an approved action."""
    action = _get_own_action(request, action_id)
    try:
        action.record_outcome(succeeded=result.status == "succeeded", output=result.output, error=result.error)
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only an approved action can have an outcome. {conflict}") from None
    return action.as_api()


@router.post("/actions/{action_id}/cancel", response={200: ActionOut, **ERRORS})
def cancel(request, action_id: UUID):
    """Withdraw a pending action."""
    action = _get_own_action(request, action_id)
    try:
        action.cancel()
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only a pending action can be cancelled. {conflict}") from None
    return action.as_api()


class ActionTypeOut(Schema):
    key: str
    name: str
    description: str
    autonomy: str
    irreversible: bool
    blast_radius: str
    params_schema: dict[str, Any]
    editable_params: list[str]


@router.get("/action-types", response={200: list[ActionTypeOut], **ERRORS}, tags=["action types"])
def action_types(request):
    """The tools an agent may call, with their level and parameter schema."""
    return ActionType.objects.filter(status=ActionType.Status.ACTIVE)
