"""Periodic and requested work on the audit log; thin wrappers around audit.verification and
audit.retention."""

from celery import shared_task
from django.utils import timezone

from audit.models import Verification
from audit.retention import purge
from audit.verification import verify_chain as verify

# How many events between two progress updates of a "Verify now" (one UPDATE each).
PROGRESS_EVERY = 5000


@shared_task
def verify_chain(full=False, periodic=False):
    """Verify new events (or all, `full`), anchor them in a signed, witnessed head."""
    result = verify(full=full, periodic=periodic)
    return {"ok": result.ok, "seq": result.seq, "checked": result.checked, "problem": result.problem}


@shared_task
def verify_now(verification_id):
    """An auditor's "Verify now": a full verification whose progress the audit page shows.
    Claimed with a conditional UPDATE, so a second delivery of the task does nothing."""
    claimed = Verification.objects.filter(pk=verification_id, started_at=None).update(started_at=timezone.now())
    if claimed != 1:
        return None
    last_saved = [0]

    def progress(checked, total):
        if checked - last_saved[0] >= PROGRESS_EVERY or checked == total:
            last_saved[0] = checked
            Verification.objects.filter(pk=verification_id).update(checked=checked, total=total)

    try:
        result = verify(full=True, progress=progress)
    except Exception as error:
        # The run must end on the page, whatever stopped it (a witness that refused the head).
        Verification.objects.filter(pk=verification_id).update(
            finished_at=timezone.now(), ok=False, problem=f"the verification could not finish: {error}"
        )
        raise
    Verification.objects.filter(pk=verification_id).update(
        finished_at=timezone.now(),
        checked=result.checked,
        total=result.checked,
        ok=result.ok,
        problem=result.problem,
        head_number=result.head.number,
    )
    return result.ok


@shared_task
def purge_expired():
    """Purge events past AUDIT_RETENTION, behind a signed checkpoint."""
    checkpoint = purge()
    return checkpoint.seq if checkpoint else None
