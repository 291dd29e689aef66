"""Running an action from the dashboard: the action type's executor webhook receives the final
parameters, signed, and its answer is recorded as the action's outcome, as an agent would
report it. The Execution row is claimed with a conditional UPDATE, so a redelivered task
never posts twice once an answer is recorded; the executor also gets the action id as its
Idempotency-Key for the one case no lease can rule out (a worker killed mid-request)."""

import httpx
from django.conf import settings
from django.db import transaction

from approvals.models import Conflict, Execution, claim_work, retry_work_later
from approvals.notifications import PermanentFailure, backoff_seconds, one_line, signed_post


def execute(action_id):
    """Post the action to its executor. Returns the seconds after which to try again, or None
    when it is done (an outcome recorded) or not ours to run."""
    execution = claim_work(Execution.objects.select_related("action__action_type", "action__agent"), action_id)
    if execution is None:
        return None
    action = execution.action
    payload = {
        "action_id": str(action.pk),
        "action": action.action_type.key,
        "params": action.final_params,
        "requested_by": execution.requested_by_name,
    }
    try:
        response = signed_post(action.action_type.executor_url, payload, headers={"Idempotency-Key": str(action.pk)})
    except PermanentFailure as failure:
        finish(execution, succeeded=False, error=f"The executor refused it: {failure}")
        return None
    except (httpx.HTTPError, OSError) as failure:
        error = f"{type(failure).__name__}: {failure}"
        if execution.attempts >= settings.HITL_NOTIFY_MAX_ATTEMPTS:
            finish(execution, succeeded=False, error=f"The executor did not answer: {error}")
            return None
        countdown = backoff_seconds(execution.attempts)
        retry_work_later(execution, error=error, countdown=countdown)
        return countdown
    try:
        output = response.json()
    except ValueError:
        output = None
    finish(
        execution,
        succeeded=True,
        output=output if isinstance(output, dict) else {"response": one_line(response.text, 2000)},
    )
    return None


def finish(execution, *, succeeded, output=None, error=""):
    with transaction.atomic():
        done = Execution.objects.filter(pk=execution.pk, status=Execution.Status.SENDING).update(
            status=Execution.Status.DONE, last_error=error
        )
        if done != 1:
            return
        try:
            execution.action.record_outcome(succeeded=succeeded, output=output, error=error)
        except Conflict as conflict:
            # The agent reported an outcome of its own meanwhile; keep theirs, note ours.
            Execution.objects.filter(pk=execution.pk).update(last_error=f"{error} {conflict}".strip())
