"""What the framework adapters share: propose a turn's tool calls, read each one's verdict, say it to the model.

A gate fails closed. Whatever goes wrong between the tool call and a decision (Countersign down or
slow, a refused token, refused arguments, nobody deciding in time, a bug in the adapter), the call
gets a "reject" `Decision` whose message says why, so the framework does not run it and the model
reads the reason. The messages are written here, once, so that docs/integrating.md can quote them.
"""

import json
import logging
from typing import NamedTuple

from hitl_client.errors import (
    ActionEnded,
    ApiError,
    Cancelled,
    Expired,
    Forbidden,
    InvalidParams,
    Rejected,
    ServerUnavailable,
    StillPending,
    Unauthorized,
)
from hitl_client.outcomes import error_of, outcomes_for, output_of

logger = logging.getLogger("hitl_client")

NOT_RUN = "Not run: "


class Decision(NamedTuple):
    """Countersign's answer to one tool call, as an adapter hands it to a framework.

    `verdict` is "approve", "edit" (approved with the reviewer's changes) or "reject"; `args` are the
    arguments to run when approved (the reviewer's where edited); `message` says why not, when rejected.
    `action_id` names the approved action, whose outcome is reported after the tool ran; `changes` maps
    each argument the reviewer changed to `[proposed, final]` (absent ones are null).
    """

    verdict: str
    args: dict | None
    message: str | None
    action_id: str | None = None
    changes: dict | None = None

    @property
    def approved(self):
        return self.verdict != "reject"

    @property
    def edit_note(self):
        """What the model is told when a reviewer changed its arguments; None when nobody did."""
        if self.verdict != "edit":
            return None
        return edit_note(self.changes or {}, self.args)


def edit_note(changes, args):
    changed = "; ".join(f"{name}: {json.dumps(old)} → {json.dumps(new)}" for name, (old, new) in changes.items())
    return f"A reviewer changed this call's arguments before it ran ({changed}). It ran with {json.dumps(args)}."


def rejection(message):
    return Decision("reject", None, message)


def _changes(proposed, final):
    names = list(proposed) + [name for name in final if name not in proposed]
    return {name: [proposed.get(name), final.get(name)] for name in names if proposed.get(name) != final.get(name)}


def _approved(action):
    params, final = action.get("params") or {}, action.get("final_params")
    if final is None:
        final = params
    if final == params:
        return Decision("approve", final, None, action["id"])
    return Decision("edit", final, None, action["id"], _changes(params, final))


def _ended(ended):
    """The message for an action that ended without an approval: the reviewer's reason verbatim."""
    if isinstance(ended, Rejected):
        decision = ended.action.get("decision") or {}
        by = decision.get("by") or "a reviewer"
        if ended.reason:
            return f"{NOT_RUN}rejected by {by}, who wrote: {ended.reason}"
        return f"{NOT_RUN}rejected by {by}, with no reason given."
    if isinstance(ended, Expired):
        return f"{NOT_RUN}nobody decided before the review deadline, so the request expired."
    if isinstance(ended, Cancelled):
        return f"{NOT_RUN}the request was withdrawn before anyone decided."
    return f"{NOT_RUN}the request ended as {ended.action.get('status')}."


def failure_message(exc):
    """Why a call did not run, when the way to a decision broke; specific enough to act on."""
    if isinstance(exc, ServerUnavailable):
        return f"{NOT_RUN}{exc.message}"  # "Countersign could not be reached: …" or "Countersign answered 503: …"
    if isinstance(exc, Unauthorized):
        return f"{NOT_RUN}Countersign refused this agent's token (401 {exc.code}: {exc.message})."
    if isinstance(exc, InvalidParams):
        errors = "; ".join(f"{e.get('path') or '(top level)'}: {e.get('message')}" for e in exc.errors) or exc.message
        return f"{NOT_RUN}Countersign refused the arguments (422 params_invalid): {errors}"
    if isinstance(exc, Forbidden):
        return f"{NOT_RUN}Countersign blocked this call (403 {exc.code}): {exc.message}"
    if isinstance(exc, ApiError):
        return f"{NOT_RUN}Countersign answered {exc.status} {exc.code}: {exc.message}"
    return f"{NOT_RUN}the approval check failed inside the Countersign adapter ({error_of(exc)})."


def _withdraw(client, action):
    """Nobody decided in time and the call will not run: take the card out of reviewers' inboxes, so
    nobody approves what no one will execute. Best effort: the SLA's fallback ends it otherwise."""
    try:
        client.cancel(action["id"])
    except Exception as exc:
        logger.warning("Countersign: could not withdraw action %s after the wait timed out: %s", action["id"], exc)


def verdict_for(client, action, wait_timeout):
    """The `Decision` once Countersign has decided the action; never raises."""
    try:
        if action["status"] == "suggested":
            return rejection(
                f"{NOT_RUN}this action is suggest-only: it was recorded for a person to carry out "
                f"({action['review_url']})."
            )
        if action["status"] == "pending":
            action = client.wait(action["id"], timeout=wait_timeout)
        if action["status"] != "approved":
            return rejection(f"{NOT_RUN}the action is {action['status']}, not approved.")
        return _approved(action)
    except StillPending as pending:
        _withdraw(client, pending.action)
        return rejection(f"{NOT_RUN}no reviewer decided within {wait_timeout:g} seconds, so the request was withdrawn.")
    except ActionEnded as ended:
        return rejection(_ended(ended))
    except Exception as exc:
        return rejection(failure_message(exc))


def _propose(client, key, name, args, action_names, fields):
    try:
        return client.propose(action_names.get(name, name), args, idempotency_key=key, **fields)
    except Exception as exc:
        return exc


def decide_calls(client, calls, *, action_names=None, wait_timeout=3600.0, **fields):
    """A `Decision` for each (Idempotency-Key, tool name, args) of one turn; never raises. All are proposed
    before any is waited on, so reviewers see them together; a key derived from the framework's own call
    id means that deciding again after a crash finds the same actions instead of asking twice."""
    action_names = action_names or {}
    proposed = [_propose(client, key, name, args, action_names, fields) for key, name, args in calls]
    return [
        rejection(failure_message(action))
        if isinstance(action, Exception)
        else verdict_for(client, action, wait_timeout)
        for action in proposed
    ]


def decide_safely(client, calls, **options):
    """`decide_calls`, and a rejection for every call should anything in between raise after all."""
    try:
        return decide_calls(client, calls, **options)
    except Exception as exc:
        return [rejection(failure_message(exc)) for _ in calls]


def report(client, decision, *, result=None, error=None):
    """Report an approved call's outcome in the background: `error` (an exception or text) if it failed,
    else `result`. Never raises and never waits."""
    if decision is None or decision.action_id is None:
        return
    try:
        sender = outcomes_for(client)
        if error is not None:
            text = error_of(error) if isinstance(error, BaseException) else str(error)[:20_000]
            sender.report(decision.action_id, succeeded=False, error=text)
        else:
            sender.report(decision.action_id, succeeded=True, output=output_of(result))
    except Exception:
        logger.exception("Countersign: the outcome of action %s could not be queued", decision.action_id)


def with_edit_note(decision, result):
    """A string result with the edit note before it, for frameworks whose tool results are text."""
    note = decision.edit_note if decision is not None else None
    if note is None:
        return result
    return f"{note}\n{result}"
