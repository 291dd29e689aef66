"""Retention: the one way events leave the log. Whole ranges from the oldest event on, older
than AUDIT_RETENTION, behind a signed checkpoint so that the rest of the chain still verifies.

The database enforces its side (migration 0003): it deletes an event only if a checkpoint
covers it and it is older than RETENTION_FLOOR.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from audit.models import Checkpoint, Event

# The same floor as the trigger's: the product promises at least six months of history.
RETENTION_FLOOR = timedelta(days=180)


def purge(*, older_than=None, now=None):
    """Purge every event older than `older_than` (default AUDIT_RETENTION); return the
    checkpoint written, or None when nothing was old enough.

    The range is every event up to a seq. Each lane draws its seqs under its own lock, in
    order, so the range is a prefix of every lane, and no lock is needed: an event appended
    meanwhile is new, so its seq is past the range."""
    retention = older_than or settings.AUDIT_RETENTION
    if retention < RETENTION_FLOOR:
        raise ImproperlyConfigured(
            f"audit retention must be at least {RETENTION_FLOOR.days} days, not {retention.days}"
        )
    cutoff = (now or timezone.now()) - retention
    with transaction.atomic():
        # The range ends before the first event that is young enough to keep, so that the
        # purge removes a prefix of the chain even if clocks made `at` not quite monotonic.
        first_kept = Event.objects.filter(at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
        old = Event.objects.filter(at__lt=cutoff)
        if first_kept is not None:
            old = old.filter(seq__lt=first_kept)
        last = old.order_by("-seq").first()
        if last is None:
            return None
        previous = Checkpoint.objects.order_by("-seq").first()
        lanes = {str(lane): list(end) for lane, end in (previous.lane_starts() if previous else {}).items()}
        lanes.update(_lane_ends(last.seq))
        checkpoint = Checkpoint(
            seq=last.seq,
            hash=last.hash,
            at=last.at,
            purged=Event.objects.filter(seq__lte=last.seq).count(),
            created_at=timezone.now(),
            lanes=lanes,
        )
        checkpoint.signature = checkpoint.expected_signature()
        checkpoint.save(force_insert=True)
        Event.objects.filter(seq__lte=last.seq).delete()
    return checkpoint


def _lane_ends(through_seq):
    """{lane: [lane_seq, hash]} of each lane's last event up to `through_seq`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (lane) lane, lane_seq, hash FROM audit_event WHERE seq <= %s "
            "ORDER BY lane, lane_seq DESC",
            [through_seq],
        )
        return {str(lane): [lane_seq, hash_] for lane, lane_seq, hash_ in cursor.fetchall()}
