"""HumanLayer SDK compatibility: the `function_calls` API, mapped onto Countersign's actions.

Code written for the discontinued `humanlayer` package keeps working unchanged when its API base
points here (`HUMANLAYER_API_BASE=https://countersign.example.com/api/v1/humanlayer`, and
`HUMANLAYER_API_KEY` set to the agent's Countersign token):

- `POST /function_calls` proposes the call: the function's name is the action type, its kwargs
  the parameters, the run id the session; the client-made `call_id` is the Idempotency-Key, which
  is also how the other two endpoints find the action again;
- `GET /function_calls/{call_id}` answers `status.approved`: null while waiting, true once
  approved as proposed, false with a comment otherwise;
- `POST /agent/function_calls/{call_id}/respond` lets the agent withdraw its call
  (`approved: false`); it can never approve its own call — people decide in the inbox.

The SDK runs the function with the arguments it proposed, so an approval *with edits* is answered
`approved: false` with a comment giving the edited arguments: the model can call again with them.
"""

from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from pydantic import BaseModel, StrictBool, field_validator

from approvals.api import ERRORS, ApiError
from approvals.models import Action, Conflict
from approvals.services import InFlight, KeyReused, action_propose
from policies.models import Autonomy

router = Router(tags=["HumanLayer compatibility"])

KEY_PREFIX = "humanlayer:"


# Nested parts are plain pydantic models: a ninja Schema reads attributes off anything, so a
# list where an object belongs would pass as an empty status.
class FunctionCallSpec(BaseModel):
    fn: str = Field(min_length=1, max_length=200, description="The function's name: the action type's key.")
    kwargs: dict[str, Any] = Field(description="The function's arguments: the action's parameters.")
    channel: dict[str, Any] | None = None
    reject_options: list[dict[str, Any]] | None = None
    state: dict[str, Any] | None = None


class FunctionCallStatus(BaseModel):
    requested_at: datetime | None = None
    responded_at: datetime | None = None
    approved: StrictBool | None = None  # true, false or null: never "no" or 0 taken for false
    comment: str | None = None
    reject_option_name: str | None = None

    @field_validator("requested_at", "responded_at", mode="before")
    @classmethod
    def written_as_text(cls, value):
        """ISO 8601 text, as the SDK sends: a bare number is not taken for a Unix time."""
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("an ISO 8601 date and time, such as 2026-11-24T09:30:00Z")
        return value


class FunctionCallIn(Schema):
    run_id: str = Field(max_length=200, examples=["billing-agent-3kd9"])
    call_id: str = Field(min_length=1, max_length=200, examples=["call-8fj2"])
    spec: FunctionCallSpec
    status: FunctionCallStatus | None = None


class FunctionCallOut(Schema):
    run_id: str
    call_id: str
    spec: FunctionCallSpec
    status: FunctionCallStatus


def _answer(action):
    """(approved, comment) in HumanLayer's terms for the action's current state."""
    decision = getattr(action, "decision", None)
    by = decision.by_name if decision else "policy"
    if action.status in (Action.Status.PENDING, Action.Status.SUGGESTED):
        return None, None
    if action.status in Action.APPROVED_STATUSES and action.autonomy != Autonomy.SUGGEST:
        if action.final_params != action.params:
            return False, (
                f"Approved by {by} only with changes; call {action.action_type.key} again with exactly these "
                f"arguments: {action.final_params}"
            )
        return True, (decision.reason or None) if decision else None
    if action.status == Action.Status.REJECTED:
        return False, f"Rejected by {by}: {decision.reason or 'no reason given'}"
    if action.status == Action.Status.EXPIRED:
        return False, "Nobody decided before the deadline, so the call was rejected."
    if action.status == Action.Status.CANCELLED:
        return False, "The call was withdrawn."
    return False, f"Not for the agent to run: a person handled it ({action.status})."


def function_call(action):
    approved, comment = _answer(action)
    hl = action.context.get("humanlayer", {})
    return {
        "run_id": hl.get("run_id", action.session_id),
        "call_id": hl.get("call_id", action.idempotency_key.removeprefix(KEY_PREFIX)),
        "spec": {"fn": action.action_type.key, "kwargs": action.params, **hl.get("spec", {})},
        "status": {
            "requested_at": action.created_at,
            "responded_at": action.decided_at if approved is not None else None,
            "approved": approved,
            "comment": comment,
        },
    }


def _get_call(request, call_id):
    return get_object_or_404(
        Action.objects.select_related("action_type", "agent", "decision"),
        agent=request.auth,
        idempotency_key=KEY_PREFIX + call_id,
    )


@router.post("/function_calls", response={200: FunctionCallOut, 201: FunctionCallOut, **ERRORS})
def create_function_call(request, call: FunctionCallIn):
    """Propose a function call, as `HumanLayer.require_approval()` does before running it."""
    extra_spec = call.spec.model_dump(include={"channel", "reject_options", "state"}, exclude_none=True)
    proposal = {
        "action": call.spec.fn,
        "params": call.spec.kwargs,
        "session_id": call.run_id,
        "context": {"humanlayer": {"run_id": call.run_id, "call_id": call.call_id, "spec": extra_spec}},
    }
    try:
        action, created = action_propose(
            agent=request.auth, proposal=proposal, idempotency_key=KEY_PREFIX + call.call_id
        )
    except InFlight:
        raise ApiError(409, "idempotency_key_in_flight", "This call_id is still being created.") from None
    except KeyReused:
        raise ApiError(422, "idempotency_key_reused", "This call_id was already used for another call.") from None
    return Status(201 if created else 200, function_call(action))


@router.get("/function_calls/{call_id}", response={200: FunctionCallOut, **ERRORS})
def get_function_call(request, call_id: str):
    """The call with its status: `approved` is null until a person (or the policy) has decided."""
    return function_call(_get_call(request, call_id))


@router.post("/agent/function_calls/{call_id}/respond", response={200: FunctionCallOut, **ERRORS})
def respond_to_function_call(request, call_id: str, status: FunctionCallStatus):
    """Withdraw the call (`approved: false`). Approving is refused with 403: an agent never approves its
    own call; a supervisor decides in the inbox."""
    action = _get_call(request, call_id)
    if status.approved is not False:
        raise ApiError(403, "agent_cannot_approve", "An agent cannot approve its own call; a person decides it.")
    try:
        action.cancel()
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only a pending call can be withdrawn. {conflict}") from None
    return function_call(action)
