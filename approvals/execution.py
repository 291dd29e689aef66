"""Running an action from the dashboard: the action type's executor webhook receives the final
parameters, signed, and its answer is recorded as the action's outcome, as an agent would
report it. The Execution row is claimed with a conditional UPDATE, so a redelivered task
never posts twice once an answer is recorded; the executor also gets the action id as its
Idempotency-Key for the one case no lease can rule out (a worker killed mid-request)."""

from django.db import transaction

from approvals.delivery import attempt, finish_work, one_line, signed_post
from approvals.models import Conflict, Execution


def execute(action_id):
    """Post the action to its executor. Returns the seconds after which to try again, or None
    when it is done (an outcome recorded) or not ours to run."""
    return attempt(
        Execution.objects.select_related("action__action_type", "action__agent"), action_id, send=_post, failed=_failed
    )


def _post(execution):
    action = execution.action
    payload = {
        "action_id": str(action.pk),
        "action": action.action_type.key,
        "params": action.final_params,
        "requested_by": execution.requested_by_name,
    }
    response = signed_post(action.action_type.executor_url, payload, headers={"Idempotency-Key": str(action.pk)})
    try:
        output = response.json()
    except ValueError:
        output = None
    finish(
        execution,
        succeeded=True,
        output=output if isinstance(output, dict) else {"response": one_line(response.text, 2000)},
    )


def _failed(execution, error, permanent):
    why = "The executor refused it" if permanent else "The executor did not answer"
    finish(execution, succeeded=False, error=f"{why}: {error}")


def finish(execution, *, succeeded, output=None, error=""):
    with transaction.atomic():
        if not finish_work(execution, Execution.Status.DONE, last_error=error):
            return
        try:
            execution.action.record_outcome(succeeded=succeeded, output=output, error=error)
        except Conflict as conflict:
            # The agent reported an outcome of its own meanwhile; keep theirs, note ours.
            Execution.objects.filter(pk=execution.pk).update(last_error=f"{error} {conflict}".strip())
