"""Dry run: how an edited, unsaved policy would have routed the last proposals of its type.

The proposals are read from the audit log (`action.proposed` events), which this app may use,
so the dry run needs nothing from the approvals app. Both the saved and the edited policy are
run over the same proposals, so the comparison is like for like. What a loosening would have let
through without a person is counted, with the money in it (amount-like parameters, per currency).
What depends on history at the time is left out: the first-use gate and the rate breaker count
as passed, the external checker is not called, and a paused agent counts as running.
"""

import json
import re
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
    # Why proposals still reach a person under the edited policy: {reason: how many}. A dry run
    # that says "0 differently" must say what keeps them there (#32).
    still: Counter = field(default_factory=Counter)

    def still_waiting(self):
        """[(reason, how many, what would change it)] for what still sends proposals to a person
        under the edited policy, most common first."""
        return [(reason, count, _lever(reason)) for reason, count in self.still.most_common(6)]

    def still_text(self):
        """ "blast radius is high (12), irreversible: a person confirms before it runs (12)"; "" for none."""
        return ", ".join(f"{reason} ({count})" for reason, count, _ in self.still_waiting())

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
        if after[0] in PERSON:
            result.still.update(_gate(reason) for reason in after[2])
        if before[0] != after[0]:
            result.changed += 1
            if len(result.examples) < EXAMPLES:
                result.examples.append(
                    {
                        "action_id": event.action_id,
                        "params": proposal.params,
                        # As JSON, the way the agent sent them, never Python's repr.
                        "params_json": json.dumps(proposal.params, ensure_ascii=False),
                        "before": before[:2],
                        "after": after[:2],
                    }
                )
    return result


def _outcome(action_type, rules, agent, proposal):
    facts = Facts(executions=action_type.first_use_threshold)
    try:
        decided = route(action_type, agent, proposal, facts, rules=rules, ask_checker=_not_called)
    except Refusal as refusal:
        return "refused", refusal.message, []
    return str(decided.level), "; ".join(decided.reasons), decided.reasons


def _gate(reason):
    """A reason with what varies per proposal left out, so that equal gates count together."""
    return re.sub(r"^(rule '[^']*') matched: .*$", r"\1 matched", reason)


# What a policy admin changes to let proposals held for each reason through (the dry run then
# shows it): by the reason's words, as routing writes them.
LEVERS = [
    (r"blast radius is high", "lower “Blast radius”: a high one always sends the proposal to a person"),
    (r"irreversible", "tick “let irreversible actions run without a person”"),
    (r"rule '", "change or remove that rule"),
    (r"policy for '", "set “Autonomy” to act-with-audit or fully autonomous"),
    (r"the agent's confidence", "lower the confidence threshold"),
    (r"the agent gave no confidence", "clear the confidence threshold, or have the agent send one"),
    (r"'[^']*' is on hold", "lift the type's kill switch"),
    (r"'[^']*' is new", "set its status to active once its policy is reviewed"),
]


def _lever(reason):
    return next((lever for pattern, lever in LEVERS if re.match(pattern, reason)), "")


def _not_called(action_type, agent, proposal):
    return {"name": "external", "verdict": "pass", "reason": "not called in a dry run"}
