"""The proposal flow, which spans the policies, approvals and audit apps."""

import hashlib
import json

from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import Histogram

from approvals import tracing
from approvals.models import Action, SlackMessage
from audit.log import Actor, record, record_many
from policies.cache import Policies
from policies.models import ActionType, Autonomy, InvalidProposal, RateCounter
from policies.routing import Proposal, Refusal, action_type_for, facts_for, route
from policies.shadow import shadow_route

# Exposed on /metrics (insights.metrics) with the rest of this process's metrics.
ROUTING_SECONDS = Histogram(
    "countersign_routing_seconds",
    "Time to route one proposal (kill switch, schema, rules, checkers, risk gates).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

STATUS_FOR_LEVEL = {
    Autonomy.SUGGEST: Action.Status.SUGGESTED,
    Autonomy.CONFIRM: Action.Status.PENDING,
    Autonomy.AUDIT: Action.Status.APPROVED,
    Autonomy.AUTONOMOUS: Action.Status.APPROVED,
}


class InFlight(Exception):
    """Another request with the same Idempotency-Key is still being processed."""


class KeyReused(Exception):
    """The Idempotency-Key was used before with a different body."""


def action_propose(*, agent, proposal, idempotency_key=None, policies=None):
    """Route and store one proposal. Returns (action, created). `policies`: those the request
    authenticated with (policies/cache.py), else the current ones.

    With an Idempotency-Key, a replay of the same body returns the stored action
    (created=False); the same key with another body raises KeyReused; the same key while the
    first request is still in its transaction raises InFlight.
    """
    digest = hashlib.sha256(json.dumps(proposal, sort_keys=True, default=str).encode()).hexdigest()
    try:
        policies = policies or Policies.current()
        action_type = action_type_for(proposal["action"], proposal.get("params"), policies)
        rate_count = _count_for_rate_breaker(agent=agent, action_type=action_type, idempotency_key=idempotency_key)
        return _propose(
            agent=agent,
            action_type=action_type,
            proposal=proposal,
            idempotency_key=idempotency_key,
            digest=digest,
            rate_count=rate_count,
            policies=policies,
        )
    except Refusal as refusal:
        # Recorded after the refusal rolled back: nothing the agent sent is lost.
        record_refusal(agent=agent, proposal=proposal, refusal=refusal)
        raise


def _count_for_rate_breaker(*, agent, action_type, idempotency_key):
    """Count this proposal for the rate breaker in its own short transaction, before routing, so
    that concurrent proposals wait on the counter only for one upsert, never while an external
    checker answers. A replay of an Idempotency-Key is not counted again."""
    if action_type.rate_limit is None:
        return 0
    if idempotency_key and Action.objects.filter(agent=agent, idempotency_key=idempotency_key).exists():
        return 0
    with transaction.atomic():
        count, _ = RateCounter.count_one(agent=agent, action_type=action_type)
    return count


def record_refusal(*, agent, proposal, refusal):
    """An `action.refused` event for every refused proposal; an invalid one is also kept as an
    InvalidProposal, which the repair loop counts. `proposal` needs only its `action`."""
    with transaction.atomic():
        session_id = proposal.get("session_id") or ""
        # The type's redaction applies to what it refused as much as to what it let in.
        redact_paths = ActionType.objects.filter(key=proposal["action"]).values_list("redact_paths", flat=True).first()
        if refusal.code == "params_invalid":
            InvalidProposal.objects.create(
                agent=agent,
                action_type=ActionType.objects.get(key=proposal["action"]),
                session_id=session_id,
                proposal=proposal,
                errors=refusal.details,
            )
        record(
            kind="action.refused",
            actor=Actor.agent(agent),
            agent=agent.name,
            session_id=session_id,
            on_behalf_of=proposal.get("on_behalf_of") or "",
            model=proposal.get("model") or "",
            prompt_version=proposal.get("prompt_version") or "",
            action_type=proposal["action"],
            data={"proposal": proposal, "code": refusal.code, "message": refusal.message, "errors": refusal.details},
            redact_paths=redact_paths or (),
        )


def _propose(*, agent, action_type, proposal, idempotency_key, digest, rate_count, policies):
    with transaction.atomic():
        if idempotency_key is not None:
            claimed, existing_id, existing_digest = _claim(agent.pk, idempotency_key)
            if not claimed:
                raise InFlight()
            if existing_id is not None:
                if existing_digest != digest:
                    raise KeyReused()
                return Action.objects.get(pk=existing_id), False
        facts_proposal = Proposal.from_request(proposal)
        with ROUTING_SECONDS.time(), tracing.routing_span() as routing:
            # Counted only up to the threshold: past it, the exact number does not matter. Without
            # one, no queryset is built either: building it costs about as much Python as routing.
            executions = 0
            shadow = policies.shadow_policy(action_type)
            if threshold := max(action_type.first_use_threshold, shadow.first_use_threshold if shadow else 0):
                executions = Action.objects.filter(action_type=action_type).let_through()[:threshold].count()
            facts = facts_for(
                action_type, agent, facts_proposal, executions=executions, rate_count=rate_count, policies=policies
            )
            decided = route(action_type, agent, facts_proposal, facts)
            if decided.standing_approval is not None and not decided.standing_approval.use():
                # Another proposal used it up meanwhile: route as if it were not there.
                facts.standing_approvals = []
                decided = route(action_type, agent, facts_proposal, facts)
            routed_as = decided.as_json()
            if shadow is not None:
                routed_as["shadow"] = shadow_route(shadow, action_type, agent, facts_proposal, facts, decided)
            tracing.route_done(routing, decided, routed_as.get("shadow"))
        status = STATUS_FOR_LEVEL[decided.level]
        now = timezone.now()
        action = Action(
            agent=agent,
            action_type=action_type,
            policy_version=action_type.version,
            status=status,
            autonomy=decided.level,
            params=proposal["params"],
            final_params=proposal["params"] if status == Action.Status.APPROVED else None,
            summary=action_type.render_summary(proposal["params"]),
            route=routed_as,
            session_id=proposal.get("session_id") or "",
            on_behalf_of=proposal.get("on_behalf_of") or "",
            model=proposal.get("model") or "",
            prompt_version=proposal.get("prompt_version") or "",
            confidence=proposal.get("confidence"),
            rationale=proposal.get("rationale") or "",
            context=proposal.get("context") or {},
            batch=proposal.get("batch") or "",
            callback_url=proposal.get("callback_url") or agent.callback_url,
            idempotency_key=idempotency_key,
            request_digest=digest,
            traceparent=tracing.current_traceparent(),
            created_at=now,
            due_at=now + action_type.sla if status == Action.Status.PENDING else None,
            decided_at=now if status == Action.Status.APPROVED else None,
        )
        action.save(force_insert=True)
        action.has_no_decision_yet()
        if status == Action.Status.PENDING:
            SlackMessage.queue_posts([(action, action_type.slack_channel)])
        # One append for the proposal's events: the audit chain's lock is taken once, last.
        routed = {"level": decided.level, "status": status, "policy_version": action_type.version, **routed_as}
        record_many(
            [
                {
                    "kind": "action.proposed",
                    "actor": Actor.agent(agent),
                    "action": action,
                    "data": {"proposal": proposal},
                },
                {"kind": "action.routed", "actor": Actor.system("policy"), "action": action, "data": routed},
                *(
                    {
                        "kind": "checker.verdict",
                        "actor": Actor.system(f"checker:{checker['name']}"),
                        "action": action,
                        "data": checker,
                    }
                    for checker in decided.checkers
                    if checker["name"] != "schema" or checker["verdict"] != "pass"
                ),
            ]
        )
    return action, True


def _claim(agent_id, key):
    """(claimed, id, request digest of the action the key already made): the key's lock, held
    until the transaction ends (a second request with the same key meanwhile is in flight), and
    the lookup after it, in one round trip (migration approvals.0014)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT claimed, action_id, request_digest FROM approvals_claim_idempotency_key(%s, %s)", [agent_id, key]
        )
        return cursor.fetchone()
