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
- `POST /agent/function_calls/{call_id}/result` (Countersign's own, not HumanLayer's) records what
  the approved function did, as `/actions/{id}/result` does: `hitl_client.humanlayer` sends it.

- `POST /contact_requests` asks a person a question (`HumanLayer.human_as_tool()`): a question
  card in the inbox, where a supervisor types the answer or picks one of the `response_options`;
  `GET /contact_requests/{call_id}` answers `status.response` verbatim (null until answered) and
  `response_option_name`;
- `POST /agent/function_calls/{call_id}/escalate_email` sends the call to its type's next SLA tier;
  `POST /agent/human_contacts/{call_id}/escalate_email` expedites the question: urgent, at the top
  of the inbox (`Question.expedite`; HumanLayer's one word covers both, Countersign's two do not).

A rejection's comment is the reviewer's words, verbatim; where the reviewer chose one of the call's
`reject_options`, its name is `reject_option_name`.

The SDK runs the function with the arguments it proposed, so an approval *with edits* is answered
`approved: false` with a comment giving the edited arguments, and a one-shot standing approval bound
to exactly those arguments (audited; `Action.allow_repeat`, as the agent API's `/repeat`) lets the
model's repeated call through without a second review — except for an irreversible type, which no
standing approval waives: the comment then says the repeated call is reviewed again.
"""

from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from pydantic import BaseModel, StrictBool, field_validator

from approvals import escalation
from approvals.api import ERRORS, ApiError, ResultIn
from approvals.models import Action, Conflict, Question
from approvals.services import InFlight, KeyReused, action_propose
from audit.log import Actor
from policies.models import Autonomy
from policies.routing import Proposal

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


class SdkStatusTimes(BaseModel):
    """The times a status of the SDK's carries."""

    requested_at: datetime | None = None
    responded_at: datetime | None = None

    @field_validator("requested_at", "responded_at", mode="before")
    @classmethod
    def written_as_text(cls, value):
        """ISO 8601 text, as the SDK sends: a bare number is not taken for a Unix time."""
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("an ISO 8601 date and time, such as 2026-11-24T09:30:00Z")
        return value


class FunctionCallStatus(SdkStatusTimes):
    approved: StrictBool | None = None  # true, false or null: never "no" or 0 taken for false
    comment: str | None = None
    reject_option_name: str | None = None


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
            return False, _edited_call_comment(action, by)
        return True, (decision.reason or None) if decision else None
    if action.status == Action.Status.REJECTED:
        return False, decision.reason  # the reviewer's words, as HumanLayer gives them
    if action.status == Action.Status.EXPIRED:
        return False, "Nobody decided before the deadline, so the call was rejected."
    if action.status == Action.Status.CANCELLED:
        return False, "The call was withdrawn."
    return False, f"Not for the agent to run: a person handled it ({action.status})."


def function_call(action):
    approved, comment = _answer(action)
    hl = action.context.get("humanlayer", {})
    decision = getattr(action, "decision", None)
    return {
        "run_id": hl.get("run_id", action.session_id),
        "call_id": hl.get("call_id", action.idempotency_key.removeprefix(KEY_PREFIX)),
        "spec": {"fn": action.action_type.key, "kwargs": action.params, **hl.get("spec", {})},
        "status": {
            "requested_at": action.created_at,
            "responded_at": action.decided_at if approved is not None else None,
            "approved": approved,
            "comment": comment,
            "reject_option_name": (decision.reject_option or None) if decision and approved is False else None,
        },
    }


def _edited_call_comment(action, by):
    """The SDK cannot run the edited arguments, so the model is told to call again with them; a
    one-shot standing approval lets exactly that call through instead of a second review, unless
    the type is irreversible or the reviewer's account is gone (then it is reviewed again)."""
    try:
        action.allow_repeat()
    except Conflict as refused:
        return (
            f"Approved by {by} only with changes; call {action.action_type.key} again with exactly these "
            f"arguments ({refused}): {action.final_params}"
        )
    return (
        f"Approved by {by} only with changes; call {action.action_type.key} again with exactly these "
        f"arguments, and that call is approved without another review: {action.final_params}"
    )


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
    proposal = Proposal(
        action=call.spec.fn,
        params=call.spec.kwargs,
        session_id=call.run_id,
        context={"humanlayer": {"run_id": call.run_id, "call_id": call.call_id, "spec": extra_spec}},
    )
    try:
        action, created = action_propose(
            agent=request.auth, proposal=proposal, idempotency_key=KEY_PREFIX + call.call_id, policies=request.policies
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


@router.post("/agent/function_calls/{call_id}/result", response={200: FunctionCallOut, **ERRORS})
def report_function_call_result(request, call_id: str, result: ResultIn):
    """Not in HumanLayer's API (its SDK reports nothing): what the approved function did, as
    `POST /api/v1/actions/{id}/result` records it, found by the call's id. `hitl_client.humanlayer`
    sends it; `409 conflict` for a call that is not approved or already has another outcome."""
    action = _get_call(request, call_id)
    try:
        action.record_outcome(succeeded=result.status == "succeeded", output=result.output, error=result.error)
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only an approved call can have an outcome. {conflict}") from None
    return function_call(action)


# Contact requests: an agent's question to a person.


class ResponseOption(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    prompt_fill: str | None = Field(None, max_length=10000)
    interactive: StrictBool = False  # true or false: never 0 taken for false


class HumanContactSpec(BaseModel):
    msg: str = Field(min_length=1, max_length=20000, description="The question, shown to a person as written.")
    subject: str | None = Field(None, max_length=200)
    channel: dict[str, Any] | None = None
    response_options: list[ResponseOption] | None = None
    state: dict[str, Any] | None = None

    @field_validator("response_options")
    @classmethod
    def names_unique(cls, options):
        names = [option.name for option in options or ()]
        if len(names) != len(set(names)):
            raise ValueError("response_options must have unique names")
        return options


class HumanContactStatus(SdkStatusTimes):
    response: str | None = None
    response_option_name: str | None = None


class HumanContactIn(Schema):
    run_id: str = Field(max_length=200, examples=["billing-agent-3kd9"])
    call_id: str = Field(min_length=1, max_length=200, examples=["contact-8fj2"])
    spec: HumanContactSpec
    status: HumanContactStatus | None = None


class HumanContactOut(Schema):
    run_id: str
    call_id: str
    spec: HumanContactSpec
    status: HumanContactStatus


class EscalationIn(Schema):
    """HumanLayer's `Escalation`, the body of both `escalate_email` routes."""

    escalation_msg: str = Field(max_length=2000)
    additional_recipients: list[dict[str, Any]] | None = None
    channel: dict[str, Any] | None = None


def human_contact(question):
    return {
        "run_id": question.session_id,
        "call_id": question.call_id,
        "spec": {
            "msg": question.message,
            "subject": question.subject or None,
            "response_options": question.response_options or None,
            **question.spec,
        },
        "status": {
            "requested_at": question.created_at,
            "responded_at": question.answered_at,
            "response": question.response if question.answered_at else None,
            "response_option_name": question.response_option_name or None,
        },
    }


def _get_question(request, call_id):
    return get_object_or_404(Question.objects.select_related("agent"), agent=request.auth, call_id=call_id)


@router.post("/contact_requests", response={200: HumanContactOut, 201: HumanContactOut, **ERRORS})
def create_contact_request(request, contact: HumanContactIn):
    """Ask a person, as `HumanLayer.human_as_tool()` does: a question card in the inbox."""
    question, created = Question.ask(
        agent=request.auth,
        call_id=contact.call_id,
        session_id=contact.run_id,
        message=contact.spec.msg,
        subject=contact.spec.subject or "",
        response_options=[option.model_dump(exclude_none=True) for option in contact.spec.response_options or ()],
        spec=contact.spec.model_dump(include={"channel", "state"}, exclude_none=True),
    )
    if not created and question.message != contact.spec.msg:
        raise ApiError(422, "idempotency_key_reused", "This call_id was already used for another question.")
    return Status(201 if created else 200, human_contact(question))


@router.get("/contact_requests/{call_id}", response={200: HumanContactOut, **ERRORS})
def get_contact_request(request, call_id: str):
    """The question with its answer: `status.response` is null until a person has answered."""
    return human_contact(_get_question(request, call_id))


@router.post("/agent/human_contacts/{call_id}/respond", response={200: HumanContactOut, **ERRORS})
def respond_to_contact_request(request, call_id: str, status: HumanContactStatus):
    """Refused: a person answers the agent's question, never the agent itself."""
    _get_question(request, call_id)
    raise ApiError(403, "agent_cannot_answer", "An agent cannot answer its own question; a person answers it.")


@router.post("/agent/human_contacts/{call_id}/escalate_email", response={200: HumanContactOut, **ERRORS})
def expedite_contact_request(request, call_id: str, body: EscalationIn):
    """Expedite the question: it is urgent, at the top of the inbox, due now, with the message."""
    question = _get_question(request, call_id)
    try:
        question.expedite(message=body.escalation_msg)
    except Conflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from None
    return human_contact(question)


@router.post("/agent/function_calls/{call_id}/escalate_email", response={200: FunctionCallOut, **ERRORS})
def escalate_function_call(request, call_id: str, body: EscalationIn):
    """Send the waiting call to the next tier of its type's SLA ladder at once, as a reviewer's
    "Escalate now" does; the message goes into the audit log."""
    action = _get_call(request, call_id)
    try:
        action = escalation.escalate_now(action, actor=Actor.agent(request.auth), message=body.escalation_msg)
    except Conflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from None
    return function_call(action)
