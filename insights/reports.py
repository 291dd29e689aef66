"""Insights: where the human time goes, and where autonomy can safely grow.

Every figure is aggregated in SQL over one window (time range, optionally one agent and one
action type); each chart's numbers are a `Table`, which the page draws and the CSV exports,
so the two cannot disagree.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, FloatField, Q
from django.db.models.functions import Extract, Trunc
from django.utils import timezone

from approvals.models import Action, Decision
from audit.models import Event
from policies.earned_autonomy import offers
from policies.models import ActionType, Autonomy
from sampling.error_rates import ADVICE, RELAX, TIGHTEN, error_rates, percent
from sampling.models import Sample

# Levels at which a proposal waits for a person.
HUMAN_LEVELS = (Autonomy.SUGGEST, Autonomy.CONFIRM)

# The audit kinds the SLA chart counts. `action.warned` and `action.escalated` are written by
# the escalation workers; until they run, those columns stay at zero.
SLA_EVENT_KINDS = {"action.warned": "warned", "action.escalated": "escalated", "action.expired": "expired"}

# "Consider `audit` with sampling": approved as proposed this often, on at least this many decisions.
HIGH_APPROVAL_RATE = 0.98
HIGH_APPROVAL_MIN_DECISIONS = 100
# From each type's own latest N decisions (policies/earned_autonomy.py): no 100 to wait for.
EARNED_ADVICE = "could move to act-with-audit"


@dataclass(frozen=True)
class Window:
    """What the charts cover: actions proposed (events recorded) in [start, end)."""

    start: datetime
    end: datetime
    agent: object = None  # an Agent, or None for all
    action_type: object = None  # an ActionType, or None for all

    @property
    def bucket(self):
        # Hours read well up to two days; beyond that a day per bar.
        return "hour" if self.end - self.start <= timedelta(days=2) else "day"

    def actions(self):
        actions = Action.objects.filter(created_at__gte=self.start, created_at__lt=self.end)
        if self.agent is not None:
            actions = actions.filter(agent=self.agent)
        if self.action_type is not None:
            actions = actions.filter(action_type=self.action_type)
        return actions

    def decisions(self):
        """The decisions on the window's actions, read from the copies each decision keeps."""
        decisions = Decision.objects.filter(proposed_at__gte=self.start, proposed_at__lt=self.end)
        if self.agent is not None:
            decisions = decisions.filter(agent=self.agent)
        if self.action_type is not None:
            decisions = decisions.filter(action_type=self.action_type)
        return decisions

    def events(self):
        events = Event.objects.filter(at__gte=self.start, at__lt=self.end)
        if self.agent is not None:
            events = events.filter(agent=self.agent.name)
        if self.action_type is not None:
            events = events.filter(action_type=self.action_type.key)
        return events


class PercentilesOf(Aggregate):
    """`percentile_cont(ARRAY[…]) WITHIN GROUP (ORDER BY expression)`: several percentiles
    from one sort, as a list of floats (None for an empty group)."""

    function = "percentile_cont"
    template = "%(function)s(%(fractions)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False
    output_field = ArrayField(FloatField())

    def __init__(self, expression, fractions, **extra):
        fractions = "ARRAY[" + ", ".join(str(float(f)) for f in fractions) + "]::float8[]"
        super().__init__(expression, fractions=fractions, **extra)


@dataclass
class Table:
    """A chart's numbers: a header row and data rows, as the CSV has them."""

    header: list
    rows: list = field(default_factory=list)


def sample_rates(window):
    """Per action type, the error rates of the samples drawn in `window` (as on the sample page:
    "unsure" grades say nothing about the error rate)."""
    samples = Sample.objects.filter(drawn_at__gte=window.start, drawn_at__lt=window.end)
    if window.action_type is not None:
        samples = samples.filter(action_type=window.action_type)
    if window.agent is not None:
        samples = samples.filter(action__agent=window.agent)
    return error_rates(samples=samples)


def seconds(value):
    return None if value is None else round(value, 1)


class Insights:
    """The figures for one window; each query runs at most once, however many charts use it."""

    def __init__(self, window, now=None):
        self.window = window
        self.now = now or timezone.now()

    # The queries.

    @cached_property
    def type_keys(self):
        """{action type id: key}, for every type: a handful of rows, so the aggregates need not join."""
        return dict(ActionType.objects.values_list("pk", "key"))

    @cached_property
    def counts(self):
        """[(type id, bucket start, autonomy, actions, breached)]: one hashed GROUP BY over the
        actions, from which both the volume chart and the per-type totals are summed."""
        breached = Q(due_at__isnull=False) & (
            Q(decided_at__gt=F("due_at")) | Q(decided_at__isnull=True, due_at__lt=self.now)
        )
        return list(
            self.window.actions()
            .annotate(bucket=Trunc("created_at", self.window.bucket))
            .values_list("action_type_id", "bucket", "autonomy")
            .annotate(n=Count("pk"), breached=Count("pk", filter=breached))
            .order_by()
        )

    @cached_property
    def volume(self):
        """[(bucket start, autonomy, count)]."""
        volume = defaultdict(int)
        for _, bucket, level, n, _ in self.counts:
            volume[bucket, level] += n
        return [(bucket, level, n) for (bucket, level), n in sorted(volume.items())]

    @cached_property
    def decided(self):
        """{type id: (approved, edited, rejected, median seconds, p90 seconds)} over the decisions:
        both percentiles from one sort, by `percentile_cont(ARRAY[…])`."""
        waited = Extract(ExpressionWrapper(F("at") - F("proposed_at"), output_field=DurationField()), "epoch")
        rows = (
            self.window.decisions()
            .values_list("action_type_id")
            .annotate(
                approved=Count("pk", filter=Q(verdict=Decision.Verdict.APPROVED, edited=False)),
                edited=Count("pk", filter=Q(verdict=Decision.Verdict.APPROVED, edited=True)),
                rejected=Count("pk", filter=Q(verdict=Decision.Verdict.REJECTED)),
                waited=PercentilesOf(waited, [0.5, 0.9]),
            )
            .order_by()
        )
        return {type_id: (*verdicts, *waited) for type_id, *verdicts, waited in rows}

    @cached_property
    def per_type(self):
        """One TypeFigures per action type that had actions in the window, by key."""
        totals = defaultdict(lambda: (0, 0, 0))
        for type_id, _, level, n, breached in self.counts:
            total, to_person, late = totals[type_id]
            totals[type_id] = (total + n, to_person + (n if level in HUMAN_LEVELS else 0), late + breached)
        figures = []
        for type_id, (total, to_person, breached) in totals.items():
            approved, edited, rejected, median, p90 = self.decided.get(type_id, (0, 0, 0, None, None))
            key = self.type_keys[type_id]
            figures.append(
                TypeFigures(type_id, key, total, to_person, approved, edited, rejected, breached, median, p90)
            )
        return sorted(figures, key=lambda t: (t.key, t.id))

    @cached_property
    def sla_events(self):
        """{(action type key, kind): count} for the SLA event kinds recorded in the window."""
        rows = (
            self.window.events()
            .filter(kind__in=SLA_EVENT_KINDS)
            .values_list("action_type", "kind")
            .annotate(n=Count("seq"))
        )
        return {(key, kind): n for key, kind, n in rows}

    @cached_property
    def reviewers(self):
        """Per reviewer: decisions, how many were timed, how many faster than a person reads."""
        fast = settings.HITL_RUBBER_STAMP_SECONDS
        rows = (
            self.window.decisions()
            .values("by_name")
            .annotate(
                decisions=Count("pk"),
                timed=Count("pk", filter=Q(seconds_to_decide__isnull=False)),
                fast=Count("pk", filter=Q(seconds_to_decide__lt=fast)),
            )
            .order_by("by_name")
        )
        return list(rows)

    # The charts' numbers.

    def buckets(self):
        """Every bucket start in the window, so that quiet hours show as empty bars."""
        step = timedelta(hours=1) if self.window.bucket == "hour" else timedelta(days=1)
        first = self.window.start.replace(minute=0, second=0, microsecond=0)
        if self.window.bucket == "day":
            first = first.replace(hour=0)
        buckets = []
        while first < self.window.end:
            buckets.append(first)
            first += step
        return buckets

    def volume_table(self):
        levels = list(Autonomy.values)
        counts = {(bucket, level): n for bucket, level, n in self.volume}
        table = Table(["period", *levels, "total"])
        for bucket in self.buckets():
            row = [counts.get((bucket, level), 0) for level in levels]
            table.rows.append([bucket.isoformat(), *row, sum(row)])
        return table

    def human_share(self):
        """(actions that reached a person, all actions)."""
        total = sum(n for _, _, n in self.volume)
        human = sum(n for _, level, n in self.volume if level in HUMAN_LEVELS)
        return human, total

    def decision_time_table(self):
        table = Table(["action_type", "decisions", "median_seconds", "p90_seconds"])
        for t in self.per_type:
            if t.decisions:
                table.rows.append([t.key, t.decisions, seconds(t.median_seconds), seconds(t.p90_seconds)])
        return table

    def sla_table(self):
        table = Table(["action_type", "warned", "escalated", "breached", "expired"])
        breached = {t.key: t.breached for t in self.per_type}
        keys = sorted(set(breached) | {key for key, _ in self.sla_events})
        for key in keys:
            count = {label: self.sla_events.get((key, kind), 0) for kind, label in SLA_EVENT_KINDS.items()}
            table.rows.append([key, count["warned"], count["escalated"], breached.get(key, 0), count["expired"]])
        return table

    def verdict_table(self):
        table = Table(
            ["action_type", "approved", "edited", "rejected", "approved_share", "edited_share", "rejected_share"]
        )
        for t in self.per_type:
            if t.decisions:
                shares = [round(n / t.decisions, 4) for n in (t.approved, t.edited, t.rejected)]
                table.rows.append([t.key, t.approved, t.edited, t.rejected, *shares])
        return table

    @cached_property
    def samples(self):
        return sample_rates(self.window)

    def sample_table(self):
        table = Table(
            ["action_type", "sampled", "graded", "incorrect", "error_rate", "low", "high", "target", "advice"]
        )
        for rate in self.samples:
            low, high = (round(bound, 4) for bound in rate.interval) if rate.judged else (None, None)
            table.rows.append(
                [
                    rate.action_type.key,
                    rate.sampled,
                    rate.judged,
                    rate.incorrect,
                    round(rate.rate, 4) if rate.judged else None,
                    low,
                    high,
                    rate.action_type.target_error_rate,
                    rate.recommendation,
                ]
            )
        return table

    def rubber_stamp_table(self):
        table = Table(["reviewer", "decisions", "timed", "faster_than_reading", "share_of_timed"])
        for r in self.reviewers:
            share = round(r["fast"] / r["timed"], 4) if r["timed"] else None
            table.rows.append([r["by_name"], r["decisions"], r["timed"], r["fast"], share])
        return table

    def recommendation_table(self):
        """What to change, per action type: from the samples' intervals and from approval rates."""
        table = Table(["action_type", "advice", "why"])
        for rate in self.samples:
            if rate.recommendation in (RELAX, TIGHTEN):
                (low, high), target = rate.interval, rate.action_type.target_error_rate
                side = "below" if rate.recommendation == RELAX else "above"
                why = f"error rate interval {percent(low)}–{percent(high)} is {side} the target {percent(target)}"
                table.rows.append([rate.action_type.key, ADVICE[rate.recommendation], why])
        earned = self.autonomy_offers
        for offer in earned.values():
            table.rows.append([offer.action_type.key, EARNED_ADVICE, offer.why()])
        for t in self.per_type:
            if t.id in earned:
                continue  # said above, from the type's own N
            if t.decisions >= HIGH_APPROVAL_MIN_DECISIONS and t.approved / t.decisions > HIGH_APPROVAL_RATE:
                why = f"{t.approved} of {t.decisions} decisions approved as proposed"
                table.rows.append([t.key, "consider `audit` with sampling", why])
        return table

    @cached_property
    def autonomy_offers(self):
        """{type id: AutonomyOffer}: types at confirm whose latest decisions by a person (N and the
        window set on each type, not this page's range) were all approvals without an edit."""
        types = ActionType.objects.filter(autonomy=Autonomy.CONFIRM, earned_autonomy_decisions__gt=0)
        if self.window.action_type is not None:
            types = types.filter(pk=self.window.action_type.pk)
        return offers(types.order_by("key"), now=self.now)

    def action_type_ids(self):
        """{key: pk} for linking recommendations to the action type's admin page."""
        return {key: pk for pk, key in self.type_keys.items()}


@dataclass(frozen=True)
class TypeFigures:
    id: int
    key: str
    total: int
    to_person: int
    approved: int  # as proposed
    edited: int  # approved after an edit
    rejected: int
    breached: int  # decided after its due time, or still pending past it
    median_seconds: float = None
    p90_seconds: float = None

    @property
    def decisions(self):
        return self.approved + self.edited + self.rejected


# The CSV downloads: URL name → the Insights method that makes its table.
TABLES = {
    "volume": Insights.volume_table,
    "decision-time": Insights.decision_time_table,
    "sla": Insights.sla_table,
    "verdicts": Insights.verdict_table,
    "samples": Insights.sample_table,
    "rubber-stamps": Insights.rubber_stamp_table,
    "recommendations": Insights.recommendation_table,
}
