"""Shadow policies: a candidate version of a type's policy (its autonomy, rules and risk gates)
that routes every real proposal beside the live one and decides nothing.

The candidate's route is stored in the action's `route` under "shadow", next to the live
reasons, and written into the same `action.routed` audit event; the report (insights/shadow.py)
compares it with what people then decided. Promoting copies the candidate onto the type as one
audited policy change; discarding ends it, audited too. A type has at most one active candidate.
"""

from policies.routing import Refusal, route


def shadow_route(shadow, action_type, agent, proposal, facts, live):
    """The candidate's route of a proposal the live policy routed as `live`, as stored beside it.
    The external checker is not asked again (its live verdict stands): a shadow calls nothing."""
    candidate, rules = shadow.candidate(action_type)
    verdicts = {checker["name"]: checker for checker in live.checkers}

    def live_verdict(action_type, agent, proposal):
        return verdicts.get("external") or {"name": "external", "verdict": "pass"}

    try:
        decided = route(candidate, agent, proposal, facts, rules=rules, ask_checker=live_verdict)
    except Refusal as refusal:
        return {"policy": shadow.pk, "level": "refused", "reasons": [refusal.message]}
    return {"policy": shadow.pk, "level": str(decided.level), "reasons": decided.reasons}
