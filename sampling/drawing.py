"""Post-hoc sampling: draw a share of the actions that ran without review into the sample queue.

A draw is reproducible: an action is drawn when the hash of its id, salted with the site's
seed and its type, falls under the type's sampling rate. Running the draw again, on another
worker or after a crash, picks the same actions; the Sample's one-to-one key means an action
is never drawn twice.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.models import Action
from policies.models import ActionType, Autonomy, StandingApproval
from sampling.models import Sample, SamplingWatermark

AUTO_APPROVED = [Autonomy.AUDIT, Autonomy.AUTONOMOUS]
# Proposals commit a moment after their created_at; looking only this far back from now
# means a draw never passes over an action that was still in its transaction.
SETTLE = timedelta(seconds=30)
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)  # the first draw of a type looks at all its history


# Actions a standing approval let through are sampled at a higher rate: twice the type's, and
# at least a quarter of them, whatever the type's own rate (even 0).
STANDING_APPROVAL_FACTOR = 2
STANDING_APPROVAL_FLOOR = 0.25


def sampling_rate(action_type, standing_approval=False):
    """The share of `action_type`'s auto-approved actions drawn: higher for those a standing
    approval let through."""
    if standing_approval:
        return min(1.0, max(STANDING_APPROVAL_FACTOR * action_type.sampling_rate, STANDING_APPROVAL_FLOOR))
    return action_type.sampling_rate


def draw_value(action_id, action_type_key, seed=None):
    """A number in [0, 1) fixed by the seed, the type and the action id."""
    salt = f"{seed if seed is not None else settings.HITL_SAMPLING_SEED}:{action_type_key}"
    digest = hashlib.sha256(f"{salt}:{action_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_drawn(action_id, action_type, seed=None, standing_approval=False):
    return draw_value(action_id, action_type.key, seed) < sampling_rate(action_type, standing_approval)


def draw(now=None):
    """Draw each action type's share of the auto-approved actions created since its last draw.
    Returns how many samples were added."""
    until = (now or timezone.now()) - SETTLE
    added = 0
    sampled = Q(sampling_rate__gt=0) | Q(pk__in=StandingApproval.objects.values("action_type"))
    for action_type in ActionType.objects.filter(sampled):
        with transaction.atomic():
            watermark, _ = SamplingWatermark.objects.select_for_update().get_or_create(
                action_type=action_type, defaults={"through": BEGINNING}
            )
            if watermark.through >= until:
                continue
            candidates = Action.objects.filter(
                action_type=action_type,
                autonomy__in=AUTO_APPROVED,
                created_at__gt=watermark.through,
                created_at__lte=until,
                sample__isnull=True,
            ).values_list("pk", "route__standing_approval")
            drawn = [
                Sample(action_id=pk, action_type=action_type, drawn_at=until + SETTLE)
                for pk, standing in candidates
                if is_drawn(pk, action_type, standing_approval=standing is not None)
            ]
            added += len(Sample.objects.bulk_create(drawn, ignore_conflicts=True, batch_size=1000))
            watermark.through = until
            watermark.save(update_fields=["through"])
    return added
