"""Post-hoc sampling: draw a share of the actions that ran without review, and turn the grades
people give them into error rates with intervals and a recommendation per action type.

A draw is reproducible: an action is drawn when the hash of its id, salted with the site's
seed and its type, falls under the type's sampling rate. Running the draw again, on another
worker or after a crash, picks the same actions; the Sample's one-to-one key means an action
is never drawn twice.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from approvals.models import Action, Sample, SamplingWatermark
from policies.models import ActionType, Autonomy, StandingApproval

AUTO_APPROVED = [Autonomy.AUDIT, Autonomy.AUTONOMOUS]
# Proposals commit a moment after their created_at; looking only this far back from now
# means a draw never passes over an action that was still in its transaction.
SETTLE = timedelta(seconds=30)
Z_95 = 1.959963984540054
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


# Error rates.


def wilson_interval(errors, trials, z=Z_95):
    """The Wilson score interval for a proportion: honest at small counts and near 0, where
    the textbook p ± z·se interval collapses to [0, 0] after a few correct grades."""
    if trials == 0:
        return 0.0, 1.0
    p = errors / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 or all errors the bound is exactly 0 or 1; floating point would leave a crumb.
    low = 0.0 if errors == 0 else max(0.0, centre - half)
    high = 1.0 if errors == trials else min(1.0, centre + half)
    return low, high


RELAX = "relax"
TIGHTEN = "tighten"
NOT_ENOUGH_DATA = "not enough data yet"

ADVICE = {
    RELAX: "Relax: the error rate is below the target; lower the sampling rate or raise autonomy.",
    TIGHTEN: "Tighten: the error rate is above the target; sample more or lower autonomy.",
    NOT_ENOUGH_DATA: "Not enough data yet: the interval still contains the target.",
}


def recommendation(low, high, target):
    """Relax only when the whole interval sits below the target, tighten only when it sits
    above it; an interval that touches or contains the target cannot tell."""
    if high < target:
        return RELAX
    if low > target:
        return TIGHTEN
    return NOT_ENOUGH_DATA


@dataclass
class ErrorRate:
    action_type: ActionType
    sampled: int
    graded: int
    incorrect: int
    unsure: int

    @property
    def judged(self):
        """Grades that say correct or incorrect; `unsure` counts as graded but not in the rate."""
        return self.graded - self.unsure

    @property
    def rate(self):
        return self.incorrect / self.judged if self.judged else None

    @property
    def interval(self):
        return wilson_interval(self.incorrect, self.judged)

    @property
    def recommendation(self):
        low, high = self.interval
        return recommendation(low, high, self.action_type.target_error_rate)

    @property
    def advice(self):
        return ADVICE[self.recommendation]


def error_rates(action_types=None):
    """An ErrorRate for each action type that has samples (or each of `action_types`)."""
    counts = {
        row["action_type"]: row
        for row in Sample.objects.values("action_type").annotate(
            sampled=Count("pk"),
            graded=Count("pk", filter=~Q(grade="")),
            incorrect=Count("pk", filter=Q(grade=Sample.Grade.INCORRECT)),
            unsure=Count("pk", filter=Q(grade=Sample.Grade.UNSURE)),
        )
    }
    if action_types is None:
        action_types = ActionType.objects.filter(pk__in=counts)
    empty = {"sampled": 0, "graded": 0, "incorrect": 0, "unsure": 0}
    return [
        ErrorRate(
            action_type=action_type,
            **{key: counts.get(action_type.pk, empty)[key] for key in ("sampled", "graded", "incorrect", "unsure")},
        )
        for action_type in action_types
    ]


def error_rate_for(action_type):
    return error_rates([action_type])[0]
