"""Earned autonomy: a type whose people keep approving what agents propose, untouched, is offered
to the policy admin as "could move to act-with-audit", with the dry run of that change.

A type at confirm earns the offer when its latest N decisions by a person within its window (N
and the window are set per type) are all approvals without an edit: one edit or rejection among
them withdraws it until N clean approvals follow. The decisions are read from the audit log, as
the dry run reads proposals, so this app needs nothing from the approvals app; a timeout's
fallback and a policy's approval are not a person's decisions and do not count.
"""

import copy
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.utils import timezone

from audit.models import Event
from policies.dry_run import DryRun, dry_run
from policies.models import ActionType, Autonomy

# A person's decision on an action; `action.edited` was an edited approval's kind before #20.
DECISION_KINDS = ["action.approved", "action.rejected", "action.edited"]


@dataclass
class AutonomyOffer:
    action_type: ActionType
    approvals: int  # the clean approvals that earned it: the type's N
    since: datetime  # the start of its window
    dry_run: DryRun  # the type's proposals since then, routed at confirm and at act-with-audit

    def why(self):
        days = self.action_type.earned_autonomy_window.days
        window = f"{days} day{'' if days == 1 else 's'}" if days else "the window"
        run = self.dry_run
        text = (
            f"the last {self.approvals} decisions by a person within {window} were all approvals without an edit; "
            f"of the {run.total} proposals since, act-with-audit would have let {run.let_through} run unreviewed"
        )
        if money := run.money_text():
            text += f" ({money})"
        still = run.after["confirm"] + run.after["suggest"]
        if still:
            text += f", and {still} would still wait for a person ({run.still_text()})"
        return text


def offer_for(action_type, now=None):
    """The AutonomyOffer `action_type` earned from its people's decisions ("could move to
    act-with-audit", with the dry run of that change), or None."""
    return offers([action_type], now=now).get(action_type.pk)


def offers(action_types, now=None):
    """{action type pk: AutonomyOffer} for those of `action_types` that earned one: one query
    for all their decisions, then a dry run for each type that earned it."""
    now = now or timezone.now()
    candidates = [
        t
        for t in action_types
        if t.autonomy == Autonomy.CONFIRM and t.status == ActionType.Status.ACTIVE and t.earned_autonomy_decisions
    ]
    if not candidates:
        return {}
    since = {t.key: now - t.earned_autonomy_window for t in candidates}
    latest = (
        Event.objects.filter(
            action_type__in=list(since), kind__in=DECISION_KINDS, actor_kind="user", at__gte=min(since.values())
        )
        .annotate(rank=Window(RowNumber(), partition_by=[F("action_type")], order_by=F("seq").desc()))
        .filter(rank__lte=max(t.earned_autonomy_decisions for t in candidates))
        .order_by("action_type", "rank")
        .values_list("action_type", "at", "kind", "data__edited")
    )
    decisions = {}
    for key, at, kind, edited in latest:
        if at >= since[key]:
            decisions.setdefault(key, []).append(kind == "action.approved" and not edited)
    found = {}
    for action_type in candidates:
        wanted = action_type.earned_autonomy_decisions
        latest_clean = decisions.get(action_type.key, [])[:wanted]
        if len(latest_clean) < wanted or not all(latest_clean):
            continue
        prefetch_related_objects([action_type], "rules")  # read once, for the offer and its dry run
        loosened = copy.copy(action_type)
        loosened.autonomy = Autonomy.AUDIT
        rules = list(action_type.rules.all())
        run = dry_run(action_type, loosened, rules, since=since[action_type.key])
        found[action_type.pk] = AutonomyOffer(action_type, wanted, since[action_type.key], run)
    return found
