"""Error rates: the grades people give samples, as a rate with a Wilson 95% interval and a
recommendation per action type. The sample page, the admin's list of action types and
/insights/ all read them from here."""

import math
from dataclasses import dataclass

from django.db.models import Count, Q

from policies.models import ActionType
from sampling.models import Sample

Z_95 = 1.959963984540054


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

# What to do about each recommendation, wherever it is shown.
ADVICE = {
    RELAX: "relax: lower the sampling rate or raise autonomy",
    TIGHTEN: "tighten: raise the sampling rate or lower autonomy",
    NOT_ENOUGH_DATA: "not enough data yet: the interval still contains the target",
}


def recommendation(low, high, target):
    """Relax only when the whole interval sits below the target, tighten only when it sits
    above it; an interval that touches or contains the target cannot tell."""
    if high < target:
        return RELAX
    if low > target:
        return TIGHTEN
    return NOT_ENOUGH_DATA


def percent(share):
    """A share as every page writes it, always from the unrounded value (0.93850… → "93.9%"):
    rounding first, as the CSV's 4 decimals do, would make it 93.8% on one page and 93.9% on
    another."""
    return f"{share:.1%}"


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
    def text(self):
        """ "66.7% (20.8%–93.9%)": the rate and its interval, on the sample page, in the admin and
        on Insights alike; "–" before any grade says correct or incorrect."""
        if not self.judged:
            return "–"
        low, high = self.interval
        return f"{percent(self.rate)} ({percent(low)}–{percent(high)})"

    @property
    def target_text(self):
        return percent(self.action_type.target_error_rate)

    @property
    def recommendation(self):
        low, high = self.interval
        return recommendation(low, high, self.action_type.target_error_rate)

    @property
    def advice(self):
        return ADVICE[self.recommendation]


def error_rates(action_types=None, samples=None):
    """An ErrorRate for each action type that has samples, by key (or each of `action_types`),
    counted over `samples` (a Sample queryset: all of them by default)."""
    samples = Sample.objects.all() if samples is None else samples
    counts = {
        row["action_type"]: row
        for row in samples.values("action_type").annotate(
            sampled=Count("pk"),
            graded=Count("pk", filter=~Q(grade="")),
            incorrect=Count("pk", filter=Q(grade=Sample.Grade.INCORRECT)),
            unsure=Count("pk", filter=Q(grade=Sample.Grade.UNSURE)),
        )
    }
    if action_types is None:
        action_types = ActionType.objects.filter(pk__in=counts).order_by("key")
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
