"""Periodic work on the audit log; thin wrappers around audit.log and audit.retention."""

from celery import shared_task

from audit.log import verify_chain as verify
from audit.retention import purge


@shared_task
def verify_chain(full=False):
    """Verify new events (or all, `full`) and store a signed chain head."""
    result = verify(full=full)
    return {"ok": result.ok, "seq": result.seq, "checked": result.checked, "problem": result.problem}


@shared_task
def purge_expired():
    """Purge events past AUDIT_RETENTION, behind a signed checkpoint."""
    checkpoint = purge()
    return checkpoint.seq if checkpoint else None
