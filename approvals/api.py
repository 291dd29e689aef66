"""The agent API (v1): propose, read, wait for, report on and cancel actions."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, Strict

from approvals import tracing
from approvals.agent_auth import AsyncAgentBearer
from approvals.models import Action, Appeal, Conflict
from approvals.models.output_review import report_outcome
from approvals.notifications import notify_appeal
from approvals.services import InFlight, KeyReused, action_propose
from approvals.tasks import dispatch_notifications
from approvals.waiting import wait_until
from hitl_lib.tasks import enqueue_on_commit
from policies.models import ActionType
from policies.routing import Proposal, Refusal

router = Router(tags=["actions"])


class ApiError(Refusal):
    """Answered as {"error": {"code", "message", "details"}} with `status`, as routing's refusals are."""


class ErrorBody(Schema):
    model_config = ConfigDict(use_attribute_docstrings=True)

    code: str = Field(examples=["params_invalid"])
    """Machine-readable, stable: see the list of error codes in the API description."""
    message: str
    details: list[Any] = []
    """For `params_invalid` and `bad_request`: every error, as `{"path": "amount", "message": "…"}`."""


class ErrorOut(Schema):
    error: ErrorBody


class ProposalIn(Schema):
    # A field this contract does not list is refused (422 unknown_field), never ignored: `untrusted`
    # sent beside `context` instead of inside it was dropped, and the rule it asked for never ran (#32).
    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    action: str = Field(min_length=1, max_length=200, examples=["payments.refund"])
    """The action type's key (`GET /action-types` lists them). An unknown key registers a draft type
    at `confirm`, or is refused with `422 unknown_action`, by site setting. A key outside the format
    (1 to 128 ASCII letters, digits, `_` and `-` in segments joined by dots, starting with a letter),
    or one that reads like an existing key, is refused with `422 action_key_invalid`."""
    params: dict[str, Any] = Field(examples=[{"customer": "cus_123", "amount": 750, "currency": "USD"}])
    """The tool call's literal arguments, checked against the action type's JSON Schema."""
    session_id: str | None = Field(None, max_length=200, examples=["run-42"])
    """The agent's run or conversation; groups actions on the inbox and in the audit log."""
    on_behalf_of: str | None = Field(None, max_length=200, examples=["alice@example.com"])
    """The person the agent acts for; never allowed to approve their own action."""
    model: str | None = Field(None, max_length=200, examples=["gpt-5.1"])
    """The model that proposed the call, for the audit log."""
    prompt_version: str | None = Field(None, max_length=200, examples=["billing-agent@v7"])
    """The agent's prompt version, for the audit log."""
    # Strict: pydantic would otherwise read `false` as 0.0.
    confidence: Annotated[float, Strict(), Field(ge=0, le=1)] | Literal["low", "medium", "high"] | None = Field(
        None, examples=[0.62]
    )
    """The agent's confidence, 0–1 or low/medium/high: a hint, not truth; below the type's threshold
    it asks for a person."""
    rationale: str | None = Field(None, max_length=20_000)
    """Why the agent wants this, in its own words; shown to the reviewer apart from the literal call, never as HTML."""
    context: dict[str, Any] | None = Field(None, examples=[{"ticket": "T-981", "untrusted": ["ticket.body"]}])
    """Anything the reviewer or the rules should see; list keys that came from untrusted input under `untrusted`."""
    batch: str | None = Field(None, max_length=200, examples=["refunds-2026-11-24"])
    """Groups related actions into one confirmation on the inbox."""
    callback_url: str | None = Field(None, max_length=2000, examples=["https://agent.example.com/countersign"])
    """Where to POST each decision or end state of this action (approved, edited, rejected, expired,
    cancelled, …): the action as this API returns it, signed per Standard Webhooks with the agent's
    callback secret. Defaults to the agent's callback URL. http(s) only, no credentials; a host that
    resolves to a loopback, private, link-local, site-local or reserved address, or to an IPv6 one that
    embeds such an IPv4 address (mapped, 6to4, Teredo, NAT64), is refused (`422 callback_url_refused`)."""


class DecisionOut(Schema):
    model_config = ConfigDict(use_attribute_docstrings=True)

    verdict: Literal["approved", "rejected"]
    """What the reviewer decided."""
    edited: bool
    """True when the reviewer changed parameters before approving: run `final_params`."""
    by: str
    """The reviewer's username."""
    at: datetime
    """When the decision was made (UTC)."""
    reason: str
    """The reviewer's reason (for a rejection: what to tell the agent or its user)."""


class RouteOut(Schema):
    model_config = ConfigDict(use_attribute_docstrings=True)

    reasons: list[str]
    """Each routing step that raised the level, in words: "rule 'large refund' matched: params.amount > 500"."""
    checkers: list[dict[str, Any]]
    """Each maker-checker verdict: `{"name": "schema", "verdict": "pass"}`."""


class ReceiptOut(Schema):
    """The server's HMAC-SHA256 signature over what was approved; see `hitl_client.verify_receipt()`."""

    action_id: UUID = Field(description="The approved action's id: a receipt is good for this action only, once.")
    action: str = Field(description="The action type's key.", examples=["payments.refund"])
    params: dict[str, Any] = Field(description="The final parameters: exactly what may be executed.")
    expires_at: int = Field(description="Unix time (seconds) after which the receipt is void.", examples=[1795539600])
    alg: Literal["HMAC-SHA256"] = Field(description="The signature's algorithm.")
    signature: str = Field(
        description="Hex HMAC-SHA256, under the agent's receipt secret, of `countersign-receipt-v1\\n` followed by "
        "the canonical JSON (sorted keys, no spaces) of action_id, action, params and expires_at."
    )


class ActionOut(Schema):
    model_config = ConfigDict(use_attribute_docstrings=True)

    id: UUID
    """The action's id, for `/actions/{id}`, `/wait`, `/result` and `/cancel`."""
    action: str
    """The action type's key."""
    status: str
    """suggested · pending · approved · rejected · expired · cancelled · executed · failed · dismissed.
    Run the tool only when `approved`; never when `suggested`."""
    autonomy: str
    """The level the policy routed it at: suggest, confirm, audit or autonomous."""
    summary: str
    """Plain-language summary rendered by Countersign from the literal parameters."""
    params: dict[str, Any]
    """The parameters as the agent proposed them."""
    final_params: dict[str, Any] | None
    """What to execute once approved: the reviewer's edit where there was one, else `params`. Null until approved."""
    route: RouteOut
    """Why the policy chose this level."""
    decision: DecisionOut | None
    """The person's decision; null while pending, and for an action approved by policy."""
    outcome: dict[str, Any] | None
    """What the agent reported: `{"status": "succeeded"|"failed", "output": {…}, "error": "…"}`."""
    session_id: str
    """The proposal's `session_id` ("" when none)."""
    batch: str
    """The proposal's `batch` key ("" when none)."""
    due_at: datetime | None
    """When a pending action expires (its SLA); the fallback then rejects it."""
    created_at: datetime
    """When the proposal arrived (UTC)."""
    review_url: str
    """The action's page in the inbox, to show a user who is waiting."""
    receipt: ReceiptOut | None = Field(None, description="Present once the action is approved (or has run).")
    output_review: dict[str, Any] | None = Field(
        None,
        description="Where the type has a person review the tool's output before the agent gets it: "
        '`{"status": "pending", "message": "output under review", "reason", "due_at"}` while held, then '
        "`released`, `redacted` (the outcome's output is the redacted copy) or `withheld` "
        "(no output; `note` says why).",
    )


class ResultIn(Schema):
    model_config = ConfigDict(use_attribute_docstrings=True)

    status: Literal["succeeded", "failed"]
    """Whether the tool call worked."""
    output: dict[str, Any] | None = None
    """What the tool returned, as a JSON object."""
    error: str = Field("", max_length=20_000)
    """For a failure: the error, as text."""


PROPOSE_OPENAPI = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "1–255 characters, scoped to the agent. Resending the same key and body returns the "
            "stored action (`200`) instead of creating another; `hitl_client` sends one per proposal and keeps "
            "it across retries.",
            "schema": {"type": "string", "maxLength": 255},
            "example": "refund-981",
        }
    ],
    "responses": {
        422: {
            "content": {
                "application/json": {
                    "example": {
                        "error": {
                            "code": "params_invalid",
                            "message": "The parameters do not match the schema of 'payments.refund' (2 errors).",
                            "details": [
                                {"path": "amount", "message": "-5 is less than or equal to the minimum of 0"},
                                {"path": "", "message": "'currency' is a required property"},
                            ],
                        }
                    }
                }
            }
        }
    },
}

ERRORS = {status: ErrorOut for status in (400, 401, 403, 404, 409, 413, 415, 422)}


@router.post("/actions", response={200: ActionOut, 201: ActionOut, **ERRORS}, openapi_extra=PROPOSE_OPENAPI)
def propose(request, proposal: ProposalIn):
    """Propose a tool call. The answer says whether to run it now (`approved`), wait
    (`pending`), or not run it (`suggested`).

    | status | code | when |
    | --- | --- | --- |
    | 201 | | created |
    | 200 | | replay: same `Idempotency-Key`, same body |
    | 400 | `malformed_json`, `bad_request` | not JSON; wrong or missing fields (every one in `details`) |
    | 400 | `number_out_of_range` | `NaN`, `Infinity`, past a double's range (`1e400`, `1e-400`), ints past ±(2⁵³−1) |
    | 400 | `duplicate_key` | one JSON object holds the same key twice |
    | 400 | `bad_encoding` | the body is not UTF-8, or starts with a byte order mark |
    | 400 | `bad_idempotency_key` | an `Idempotency-Key` over 255 characters, or two of them (or a comma in one) |
    | 415 | `unsupported_media_type` | the body is not declared `application/json` (or `application/*+json`) in UTF-8 |
    | 403 | (the refusal's code) | the agent or the action type is paused with "block"; the message says why |
    | 409 | `idempotency_key_in_flight` | the same key while the first request is still in progress: retry it |
    | 413 | `body_too_large` | body over the limit (256 KiB by default) |
    | 422 | `params_invalid` | the parameters fail the type's JSON Schema; `details` lists every error |
    | 422 | `unknown_action` | no such action type, when the site refuses unknown types |
    | 422 | `action_key_invalid` | a key outside the format (README), registered or not; a new second spelling of one |
    | 422 | `idempotency_key_reused` | the same key with a different body |
    | 422 | `callback_url_refused` | `callback_url` not http(s), with credentials, or its host not public (README) |
    | 422 | `unknown_field` | a top-level field this API does not list; `details` names each |
    | 429 | | the agent is over its request rate (where a rate limit is configured): retry later |

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    try:
        action, created = tracing.traced_proposal(
            request.headers.get("traceparent"),
            proposal.action,
            action_propose,
            agent=request.auth,
            proposal=Proposal.from_request(proposal.model_dump()),
            idempotency_key=request.headers.get("Idempotency-Key"),
            policies=request.policies,
        )
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
    """The action as it is now. `404 not_found` for an unknown id or another agent's action.

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    return _get_own_action(request, action_id).as_api()


WAIT_DEFAULT_SECONDS = 25


@router.get("/actions/{action_id}/wait", response={200: ActionOut, **ERRORS}, auth=AsyncAgentBearer())
async def wait(request, action_id: UUID, timeout: float = WAIT_DEFAULT_SECONDS):
    """Long-poll: answers as soon as the action leaves `pending` or `suggested`, or after
    `timeout` seconds (at most 60) with its current state.

    The answer arrives within a fraction of a second of the reviewer's click (PostgreSQL
    LISTEN/NOTIFY, no polling interval). Still `pending` at the timeout: call again.
    `400 bad_timeout` for a timeout outside 0–60; `404 not_found` for another agent's action.
    A waiting request holds no server thread: thousands of agents may wait at once.

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    return await wait_for_decision(request.auth, action_id, timeout)


async def wait_for_decision(agent, action_id, timeout):
    """`/wait` itself: the action in its API shape once `agent`'s action `action_id` is decided or
    `timeout` seconds have passed. `hitl_site.long_poll` answers a well-formed `/wait` with it,
    below Django's middleware; the route above is the same call for everything else."""
    if not 0 <= timeout <= settings.HITL_WAIT_MAX_SECONDS:
        raise ApiError(400, "bad_timeout", f"timeout must be between 0 and {settings.HITL_WAIT_MAX_SECONDS} seconds.")

    def shape(action):
        if action is None or action.agent_id != agent.pk:
            raise Http404("No Action matches the given query.")
        return action.as_api()

    def done(now):
        # An output held for review is waited for too: the agent gets it once a person released it.
        return now["status"] not in Action.WAITING and (now.get("output_review") or {}).get("status") != "pending"

    return await wait_until(action_id, timeout, done=done, shape=shape)


@router.post("/actions/{action_id}/result", response={200: ActionOut, 202: ActionOut, **ERRORS})
def report_result(request, action_id: UUID, result: ResultIn):
    """Record what happened when the agent executed an approved action: it becomes `executed` or
    `failed`. Sending the same outcome again is harmless (`200`, unchanged); `409 conflict` for an
    action that is not approved (pending, rejected, …) or already has another outcome.

    Where the type reviews outputs, the report is held instead (`202`, `output_review.status`
    `pending`): do not give the output to the model; `/wait` answers once a person released it
    (the outcome's `output` is what you may use, maybe redacted) or withheld it.

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    action = _get_own_action(request, action_id)
    try:
        held = report_outcome(action, succeeded=result.status == "succeeded", output=result.output, error=result.error)
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only an approved action can have an outcome. {conflict}") from None
    if held is not None:
        action.refresh_from_db()
        return Status(202 if held.status == held.Status.PENDING else 200, action.as_api())
    return action.as_api()


@router.post("/actions/{action_id}/cancel", response={200: ActionOut, **ERRORS})
def cancel(request, action_id: UUID):
    """Withdraw a pending action: it becomes `cancelled` and leaves the inbox. `409 conflict` once
    it is decided (the message says by whom and when).

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    action = _get_own_action(request, action_id)
    try:
        action.cancel()
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only a pending action can be cancelled. {conflict}") from None
    return action.as_api()


@router.post("/actions/{action_id}/repeat", response={200: ActionOut, **ERRORS})
def repeat(request, action_id: UUID):
    """For a framework that can only run the arguments its model wrote (the OpenAI Agents SDK, for
    one): after an approval with changes, the agent tells its model to call again with exactly
    `final_params`, and that one repeated call is approved at once instead of being reviewed a
    second time. It is a one-shot standing approval in the reviewer's name, bound to this type, this
    agent and exactly those parameters, recorded in the audit log; asking again changes nothing. As
    any standing approval, it never waives the review of an irreversible type. `409 conflict` unless
    the action was approved with changes.

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    action = _get_own_action(request, action_id)
    try:
        action.allow_repeat()
    except Conflict as conflict:
        raise ApiError(409, "conflict", f"Only a call approved with changes can be repeated. {conflict}") from None
    return action.as_api()


class ActionTypeOut(Schema):
    model_config = ConfigDict(use_attribute_docstrings=True)

    key: str
    name: str
    description: str
    autonomy: str
    irreversible: bool
    blast_radius: str
    params_schema: dict[str, Any]
    """The JSON Schema the parameters must satisfy."""
    editable_params: list[str]
    """The parameters a reviewer may change before approving."""


@router.get("/action-types", response={200: list[ActionTypeOut], **ERRORS}, tags=["action types"])
def action_types(request):
    """The tools an agent may call (active action types), with their level and parameter schema.

    Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
    `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
    """
    return ActionType.objects.filter(status=ActionType.Status.ACTIVE)


# The end user's "This is wrong" / "Get a human", forwarded by the agent: an Appeal. The API
# keeps PRODUCT.md's word for it (the path, the schemas' and the operation's names).


class UserEscalationIn(Schema):
    kind: Literal["wrong", "human"]
    message: str = Field("", max_length=20_000)
    session_id: str | None = Field(None, max_length=200, examples=["run-42"])
    action_id: UUID | None = None


class UserEscalationOut(Schema):
    id: UUID
    kind: str
    message: str
    session_id: str
    action_id: UUID | None
    status: Literal["open", "resolved"]
    due_at: datetime
    created_at: datetime

    @staticmethod
    def resolve_status(appeal):
        return "resolved" if appeal.resolved_at else "open"


@router.post(
    "/escalations",
    response={201: UserEscalationOut, **ERRORS},
    tags=["escalations"],
    operation_id="approvals_api_escalate",
)
def open_appeal(request, body: UserEscalationIn):
    """The end user says "This is wrong" or asks for a person; it reaches the supervisors'
    inbox at the top, with its own SLA, linked to the session's actions."""
    if not body.session_id and body.action_id is None:
        raise ApiError(400, "bad_request", "Send the session_id or the action_id the end user is talking about.")
    action = _get_own_action(request, body.action_id) if body.action_id is not None else None
    with transaction.atomic():
        appeal = Appeal.open_for(
            agent=request.auth, kind=body.kind, message=body.message, session_id=body.session_id or "", action=action
        )
        if notify_appeal(appeal):
            enqueue_on_commit(dispatch_notifications)
    return Status(201, appeal)
