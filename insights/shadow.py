"""The shadow report: a candidate policy (policies/shadow.py) against what people then decided.

Over a window, for one candidate: of the proposals it would have let run that the live policy
sent to a person, how many that person rejected or edited (a rate with its Wilson interval, and
the money in them per currency); of the proposals it would have sent to a person that ran
unattended under the live policy, how many ran fine (executed, and not graded incorrect by a
sample reviewer); and examples of each. A timeout's fallback is no person's decision and is
left out, as earned autonomy leaves it out.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from approvals.models import SLA_TIMEOUT_NAME, Action, Decision
from policies.models import Autonomy
from policies.summary import money, money_amounts
from sampling.error_rates import percent, wilson_interval
from sampling.models import Sample

DEFAULT_WINDOW = timedelta(days=30)
EXAMPLES = 10
PERSON = {Autonomy.SUGGEST, Autonomy.CONFIRM}
UNATTENDED = {Autonomy.AUDIT, Autonomy.AUTONOMOUS}


@dataclass
class ShadowReport:
    shadow: object
    since: datetime
    routed: int = 0  # proposals routed by both policies in the window
    same: int = 0  # of them, routed to the same level
    levels: Counter = field(default_factory=Counter)  # (live level, candidate level) → proposals
    # Would have run unattended where the live policy sent a person, and a person decided:
    would_run_decided: int = 0
    would_run_rejected: int = 0
    would_run_edited: int = 0
    money_at_stake: Counter = field(default_factory=Counter)  # {currency: total} in those rejected or edited
    would_run_examples: list = field(default_factory=list)
    # Would have sent to a person what the live policy let run unattended:
    would_hold: int = 0
    would_hold_fine: int = 0  # executed, not graded incorrect
    would_hold_bad: int = 0  # failed, or graded incorrect
    would_hold_examples: list = field(default_factory=list)

    @property
    def would_run_wrong(self):
        return self.would_run_rejected + self.would_run_edited

    @property
    def interval(self):
        return wilson_interval(self.would_run_wrong, self.would_run_decided)

    @property
    def wrong_rate_text(self):
        """ "12.5% (2.2%–47.1%)", or "–" before any person decided one."""
        if not self.would_run_decided:
            return "–"
        low, high = self.interval
        return f"{percent(self.would_run_wrong / self.would_run_decided)} ({percent(low)}–{percent(high)})"

    @property
    def money_text(self):
        totals = sorted(self.money_at_stake.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(
            money(total, currency) if currency else f"{total:,} (no currency)" for currency, total in totals
        )

    def level_rows(self):
        """(live level, candidate level, proposals), most frequent first."""
        return [(live, shadow, n) for (live, shadow), n in self.levels.most_common()]

    def as_json(self):
        low, high = self.interval
        return {
            "shadow_policy": self.shadow.pk,
            "action_type": self.shadow.action_type.key,
            "since": self.since.isoformat(),
            "routed": self.routed,
            "same_route": self.same,
            "would_run": {
                "decided_by_a_person": self.would_run_decided,
                "rejected": self.would_run_rejected,
                "edited": self.would_run_edited,
                "wrong_rate_interval_95": [low, high],
                "money_at_stake": {currency: str(total) for currency, total in self.money_at_stake.items()},
            },
            "would_hold": {
                "ran_unattended": self.would_hold,
                "ran_fine": self.would_hold_fine,
                "ran_badly": self.would_hold_bad,
            },
        }


def shadow_report(shadow, *, since=None, now=None):
    """The report for `shadow` over the proposals since `since` (default: the last 30 days)."""
    now = now or timezone.now()
    since = since or now - DEFAULT_WINDOW
    report = ShadowReport(shadow=shadow, since=since)
    schema = shadow.action_type.params_schema or {}
    actions = (
        Action.objects.filter(action_type=shadow.action_type_id, route__shadow__policy=shadow.pk, created_at__gte=since)
        .only("id", "autonomy", "status", "params", "final_params", "route", "summary", "created_at", "outcome")
        .order_by("-created_at")
    )
    rows = list(actions)
    decisions = {
        d.action_id: d
        for d in Decision.objects.filter(action__in=[a.pk for a in rows]).exclude(by_name=SLA_TIMEOUT_NAME)
    }
    grades = dict(
        Sample.objects.filter(action__in=[a.pk for a in rows]).exclude(grade="").values_list("action_id", "grade")
    )
    for action in rows:
        live, candidate = action.autonomy, action.route["shadow"].get("level")
        report.routed += 1
        report.levels[live, candidate] += 1
        report.same += live == candidate
        if live in PERSON and candidate in UNATTENDED:
            decision = decisions.get(action.pk)
            if decision is None:
                continue
            report.would_run_decided += 1
            wrong = decision.verdict == Decision.Verdict.REJECTED or decision.edited
            if not wrong:
                continue
            if decision.verdict == Decision.Verdict.REJECTED:
                report.would_run_rejected += 1
            else:
                report.would_run_edited += 1
            for currency, amount in money_amounts(action.params, schema):
                report.money_at_stake[currency] += amount
            if len(report.would_run_examples) < EXAMPLES:
                report.would_run_examples.append(
                    {
                        "action": action,
                        "verdict": "edited" if decision.verdict == Decision.Verdict.APPROVED else "rejected",
                        "by": decision.by_name,
                        "reason": decision.reason,
                        "diff": decision.diff,
                    }
                )
        elif live in UNATTENDED and candidate in PERSON:
            report.would_hold += 1
            grade = grades.get(action.pk, "")
            bad = action.status == Action.Status.FAILED or grade == Sample.Grade.INCORRECT
            fine = action.status == Action.Status.EXECUTED and not bad
            report.would_hold_fine += fine
            report.would_hold_bad += bad
            if fine and len(report.would_hold_examples) < EXAMPLES:
                report.would_hold_examples.append(
                    {"action": action, "reasons": action.route["shadow"].get("reasons", []), "grade": grade}
                )
    return report
