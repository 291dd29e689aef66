"""Dry run: how an edited, unsaved policy would have routed the last proposals of its type.

The proposals are read from the audit log (`action.proposed` events), which this app may use,
so the dry run needs nothing from the approvals app. Both the saved and the edited policy are
run over the same proposals, so the comparison is like for like. What a loosening would have let
through without a person is counted, with the money in it (amount-like parameters, per currency).
What depends on history at the time is left out: the first-use gate and the rate breaker count
as passed, the external checker is not called, and a paused agent counts as running.
"""

from collections import Counter
from dataclasses import dataclass, field

from audit.models import Event
from policies.models import Agent
from policies.routing import Facts, Proposal, Refusal, route
from policies.summary import money, money_amounts

DEFAULT_LIMIT = 1000
EXAMPLES = 5
PERSON = {"suggest", "confirm"}  # the outcomes at which a person sees the proposal


@dataclass
class DryRun:
    total: int = 0
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    examples: list[dict] = field(default_factory=list)
    changed: int = 0
    # Proposals a person would have seen under the saved policy and not under the edited one,
    # and the money in them: {currency: total}.
    let_through: int = 0
    money: Counter = field(default_factory=Counter)

    def rows(self):
        """(outcome, before, after) for every outcome either side has, strictest first."""
        order = ["refused", "suggest", "confirm", "audit", "autonomous"]
        return [(name, self.before[name], self.after[name]) for name in order if self.before[name] or self.after[name]]

    def money_text(self):
        """ "$1,250.00 and €310.00": the money let through, largest total first; "" for none."""
        totals = sorted(self.money.items(), key=lambda item: (-item[1], item[0]))
        parts = [money(total, currency) for currency, total in totals if total]
        return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def dry_run(saved, edited, edited_rules, *, limit=DEFAULT_LIMIT, since=None):
    """Route the last `limit` proposals of `saved`'s type (those since `since`, if given) under
    the saved and the edited policy."""
    events = Event.objects.filter(kind="action.proposed", action_type=saved.key)
    if since is not None:
        events = events.filter(at__gte=since)
    events = events.order_by("-seq")[:limit]
    saved_rules = list(saved.rules.all())
    result = DryRun()
    for event in events:
        sent = event.data.get("proposal") or {}
        if not isinstance(sent.get("params"), dict):
            continue
        proposal = Proposal.from_request(sent)
        agent = Agent(name=event.agent)
        before = _outcome(saved, saved_rules, agent, proposal)
        after = _outcome(edited, edited_rules, agent, proposal)
        result.total += 1
        result.before[before[0]] += 1
        result.after[after[0]] += 1
        if before[0] in PERSON and after[0] not in PERSON | {"refused"}:
            result.let_through += 1
            for currency, amount in money_amounts(proposal.params, saved.params_schema or {}):
                result.money[currency] += amount
        if before[0] != after[0]:
            result.changed += 1
            if len(result.examples) < EXAMPLES:
                result.examples.append(
                    {"action_id": event.action_id, "params": proposal.params, "before": before, "after": after}
                )
    return result


def _outcome(action_type, rules, agent, proposal):
    facts = Facts(executions=action_type.first_use_threshold)
    try:
        decided = route(action_type, agent, proposal, facts, rules=rules, ask_checker=_not_called)
    except Refusal as refusal:
        return "refused", refusal.message
    return str(decided.level), "; ".join(decided.reasons)


def _not_called(action_type, agent, proposal):
    return {"name": "external", "verdict": "pass", "reason": "not called in a dry run"}
