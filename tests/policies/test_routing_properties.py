"""Properties of routing over generated policies and proposals: the effective level is the
strictest any step asked for and never looser than the type's own level, a standing approval
being the one exception."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.models import ActionType, Agent, Autonomy, Rule, StandingApproval
from policies.routing import Facts, Proposal, route

LEVELS = list(Autonomy.values)
# A rule that always matches, never matches, or cannot be evaluated.
RULE_EXPRESSIONS = {"match": "params.n >= 0", "miss": "params.n < 0", "error": "params.missing > 1"}

policies = st.fixed_dictionaries(
    {
        "autonomy": st.sampled_from(LEVELS),
        "irreversible": st.booleans(),
        "allow_irreversible_unattended": st.booleans(),
        "blast_radius": st.sampled_from(["low", "medium", "high"]),
        "confidence_threshold": st.sampled_from(["", "0.5", "high"]),
        "first_use_threshold": st.integers(0, 3),
        "rate_limit": st.sampled_from([None, 2]),
        "pause": st.sampled_from(["", "hold"]),
    }
)
rules = st.lists(st.tuples(st.sampled_from(sorted(RULE_EXPRESSIONS)), st.sampled_from(LEVELS)), max_size=4)
circumstances = st.fixed_dictionaries(
    {
        "confidence": st.sampled_from([None, 0.3, 0.9, "low", "high"]),
        "executions": st.integers(0, 4),
        "rate_count": st.integers(1, 4),
        "standing": st.booleans(),
    }
)


def expected_level(policy, rule_specs, seen):
    """What the product contract says, written independently of the pipeline."""
    asked = [policy["autonomy"]]
    asked += [level for kind, level in rule_specs if kind == "match"]
    person = []  # reasons a standing approval may not waive
    if any(kind == "error" for kind, _ in rule_specs):
        person.append("rule error")
    if policy["pause"] == "hold":
        person.append("hold")
    gates = []
    if policy["irreversible"] and not policy["allow_irreversible_unattended"]:
        gates.append("irreversible")
    if policy["blast_radius"] == "high":
        gates.append("blast")
    threshold = {"": None, "0.5": 0.5, "high": 0.75}[policy["confidence_threshold"]]
    confidence = {None: None, 0.3: 0.3, 0.9: 0.9, "low": 0.25, "high": 0.75}[seen["confidence"]]
    if threshold is not None and (confidence is None or confidence < threshold):
        gates.append("confidence")
    if seen["executions"] < policy["first_use_threshold"]:
        gates.append("first use")
    if policy["rate_limit"] is not None and seen["rate_count"] > policy["rate_limit"]:
        person.append("rate")
    if person or gates:
        asked.append("confirm")
    level = Autonomy.strictest(*asked)
    # A standing approval waives the confirmations of policy, rules and risk gates, nothing else.
    if seen["standing"] and level == "confirm" and not policy["irreversible"] and not person:
        return Autonomy.AUDIT
    return level


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, rule_specs=rules, seen=circumstances)
def test_the_effective_level_is_the_strictest_asked_for(policy, rule_specs, seen):
    with transaction.atomic():
        agent = Agent.objects.create(name="prop-agent")
        action_type = ActionType.objects.create(key="prop.type", name="p", pause_reason="x", **policy)
        for order, (kind, level) in enumerate(rule_specs):
            Rule.objects.create(
                action_type=action_type, name=f"r{order}", expression=RULE_EXPRESSIONS[kind], level=level, order=order
            )
        standing = StandingApproval(
            action_type=action_type, agent=agent, expires_at=timezone.now() + timedelta(hours=1), max_uses=5
        )
        facts = Facts(
            executions=seen["executions"],
            rate_count=seen["rate_count"],
            standing_approvals=[standing] if seen["standing"] and not policy["irreversible"] else [],
        )

        decided = route(action_type, agent, Proposal(params={"n": 1}, confidence=seen["confidence"]), facts)

        expected = expected_level(policy, rule_specs, seen)
        assert decided.level == expected
        if decided.standing_approval is None:
            assert decided.level == Autonomy.strictest(decided.level, policy["autonomy"])
        assert decided.reasons
        transaction.set_rollback(True)
