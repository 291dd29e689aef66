"""The proposal flow, which spans the policies, approvals and audit apps."""

import hashlib
import json
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import Histogram

from approvals import tracing
from approvals.models import Action, SlackMessage
from approvals.signals import attention_needed
from audit.log import Actor, record, record_many_with
from hitl_lib.limits import Unacceptable, check_storable
from hitl_lib.sql import insert_statement
from policies.cache import Policies
from policies.callback_urls import CallbackUrlRefused
from policies.callback_urls import check as check_callback_url
from policies.models import ActionType, Autonomy, InvalidProposal, Pause, RateCounter, StandingApproval
from policies.routing import Facts, Refusal, action_type_for, ask_external_checker, route
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


# Without a session, the repair loop counts an agent's invalid proposals over this window.
SESSIONLESS_REPAIR_WINDOW = timedelta(hours=1)


class InFlight(Exception):
    """Another request with the same Idempotency-Key is still being processed."""


class KeyReused(Exception):
    """The Idempotency-Key was used before with a different body."""


def action_propose(*, agent, proposal, idempotency_key=None, policies=None):
    """Route and store one `Proposal` (policies.routing), whichever way it came in: the REST API,
    HumanLayer's API and the MCP gateway all come through here, so each passes the same checks and
    each refusal is recorded here, once. Returns (action, created). `policies`: those the request
    authenticated with (policies/cache.py), else the current ones.

    With an Idempotency-Key, a replay of the same body returns the stored action
    (created=False); the same key with another body raises KeyReused; the same key while the
    first request is still in its transaction raises InFlight.

    The external checker, the one remote call, is asked before the transaction that stores the
    action, with no pooled connection held: a slow checker holds neither the key's lock nor one
    of the pool's connections, which every other proposal needs."""
    body = proposal.as_body()
    try:
        check_acceptable(proposal, body, idempotency_key)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        policies = policies or Policies.current()
        action_type = action_type_for(proposal.action, proposal.params, policies)
        rate_count = _count_for_rate_breaker(agent=agent, action_type=action_type, idempotency_key=idempotency_key)
        checker_verdict = _ask_checker_first(action_type, agent, proposal)
        return _propose(
            agent=agent,
            action_type=action_type,
            proposal=proposal,
            body=body,
            idempotency_key=idempotency_key,
            digest=digest,
            rate_count=rate_count,
            policies=policies,
            checker_verdict=checker_verdict,
        )
    except Refusal as refusal:
        # Recorded after the refusal rolled back: nothing the agent sent is lost.
        record_refusal(agent=agent, proposal=body, refusal=refusal)
        raise


def check_acceptable(proposal, body, idempotency_key):
    """Refuse what no entry may store, whichever parser read it: text PostgreSQL cannot hold,
    numbers past I-JSON's, nesting past the cap (the REST parser refuses these too, with the
    body's own words; an MCP client's arguments come through the SDK's parser), a callback URL
    that is not public, an Idempotency-Key that cannot be one."""
    if idempotency_key is not None and (problem := idempotency_key_problem(idempotency_key)):
        raise Refusal(400, "bad_idempotency_key", problem)
    try:
        check_storable(body, settings.HITL_MAX_JSON_DEPTH)
    except Unacceptable as unacceptable:
        raise Refusal(unacceptable.status, unacceptable.code, str(unacceptable)) from None
    if proposal.callback_url:
        try:
            check_callback_url(proposal.callback_url)
        except CallbackUrlRefused as why:
            raise Refusal(422, "callback_url_refused", str(why)) from None


def idempotency_key_problem(key):
    """Why `key` cannot be an Idempotency-Key, or None. Two headers reach Django joined by a
    comma, so a comma is refused too: the agent must say which key it meant."""
    if "," in key:
        return "Send one Idempotency-Key header, and no comma in it (two headers arrive joined by a comma)."
    if not 1 <= len(key) <= 255 or "\x00" in key:
        return "Idempotency-Key must be 1 to 255 characters, without NUL."
    return None


def _ask_checker_first(action_type, agent, proposal):
    """The external checker's verdict on a proposal routing may ask it about (a type with a checker,
    neither it nor the agent blocked), asked now, outside any transaction, after handing this
    thread's database connection back to the pool; else None."""
    if not action_type.checker_url or Pause.BLOCK in (action_type.pause, agent.pause):
        return None  # none to ask, or routing refuses it before asking
    if not connection.in_atomic_block:
        connection.close()  # back to the pool while the checker thinks; the next query takes one again
    return ask_external_checker(action_type, agent, proposal)


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
    InvalidProposal, which the repair loop counts. `proposal` (the body as sent) needs only its
    `action`; where PostgreSQL cannot store it whole (a NUL, nesting past the cap), only its
    action is kept, and where not even that, nothing."""
    for kept in (proposal, {"action": proposal.get("action")}):
        try:
            check_storable(kept, settings.HITL_MAX_JSON_DEPTH)
        except Unacceptable:
            continue
        if isinstance(kept["action"], str) and 1 <= len(kept["action"]) <= 200:  # the API's own bounds on a name
            _record_refusal(agent=agent, proposal=kept, refusal=refusal)
        return


def _record_refusal(*, agent, proposal, refusal):
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


def facts_for(action_type, agent, proposal, *, rate_count=0, policies=None, shadow=None):
    """Gather what routing needs from PostgreSQL, so every process agrees: how many of the type
    ran (the first-use gate, the live policy's or a `shadow` candidate's, whichever counts
    further), the repair loop's count, the standing approvals that may apply (with the request's
    `policies`, asked for only where one may)."""
    # Counted only up to the threshold: past it, the exact number does not matter. Without
    # one, no queryset is built either: building it costs about as much Python as routing.
    executions = 0
    if threshold := max(action_type.first_use_threshold, shadow.first_use_threshold if shadow else 0):
        executions = Action.objects.filter(action_type=action_type).let_through()[:threshold].count()
    standing = []
    if not action_type.irreversible and (policies is None or policies.may_have_standing_approval(action_type, agent)):
        standing = list(StandingApproval.objects.active().filter(action_type=action_type, agent=agent))
    # Only an invalid proposal needs the repair loop's count: spare the query for valid ones.
    invalid_attempts = 0
    if action_type.params_errors(proposal.params):
        attempts = InvalidProposal.objects.filter(agent=agent, session_id=proposal.session_id)
        if not proposal.session_id:
            # Without a session, the last hour stands in for one, so that an agent that never
            # names sessions keeps its repair loop instead of losing it after three mistakes ever.
            attempts = attempts.filter(at__gte=timezone.now() - SESSIONLESS_REPAIR_WINDOW)
        invalid_attempts = attempts.count()
    return Facts(
        executions=executions,
        invalid_attempts=invalid_attempts,
        rate_count=rate_count,
        standing_approvals=standing,
    )


def _propose(*, body, idempotency_key, digest, **routing):
    """`routing`: agent, action_type, proposal, rate_count, policies, checker_verdict (`_route`)."""
    agent, action_type = routing["agent"], routing["action_type"]
    routed = partial(_route, **routing)
    stored = partial(
        _store,
        agent=agent,
        action_type=action_type,
        proposal=routing["proposal"],
        body=body,
        idempotency_key=idempotency_key,
        digest=digest,
    )

    if idempotency_key is None:
        # Routing only reads; where it decided nothing else that must be written with the action
        # (a standing approval's use; for a pending action, the channels' posts and notifications),
        # the action and its events are one statement and, outside a transaction, one commit
        # (`_store`): an autonomous MCP call costs one commit here, not a transaction of four round
        # trips. Otherwise the same decision is stored in the transaction below.
        decided, routed_as, facts = routed()
        if decided.standing_approval is None and STATUS_FOR_LEVEL[decided.level] != Action.Status.PENDING:
            return stored(decided=decided, routed_as=routed_as), True
    with transaction.atomic():
        if idempotency_key is not None:
            claimed, existing_id, existing_digest = _claim(agent.pk, idempotency_key)
            if not claimed:
                raise InFlight()
            if existing_id is not None:
                if existing_digest != digest:
                    raise KeyReused()
                return Action.objects.get(pk=existing_id), False
            decided, routed_as, facts = routed()
        if decided.standing_approval is not None and not decided.standing_approval.use():
            # Another proposal used it up meanwhile: route as if it were not there.
            facts.standing_approvals = []
            decided, routed_as, facts = routed(facts=facts)
        action = stored(decided=decided, routed_as=routed_as)
        if action.status == Action.Status.PENDING:
            SlackMessage.queue_posts([(action, action_type.slack_channel)])
            attention_needed.send(sender=Action, kind="new", actions=[action])
    return action, True


def _route(*, agent, action_type, proposal, rate_count, policies, checker_verdict, facts=None):
    """(decided, routed_as, facts): routing's verdict on the proposal, with the facts it read. The
    checker was asked before (`_ask_checker_first`): routing reads its verdict and calls nothing
    remote here."""
    ask_checker = lambda *args: checker_verdict  # noqa: E731 - the one verdict, whatever routing asks
    with ROUTING_SECONDS.time(), tracing.routing_span() as routing:
        shadow = policies.shadow_policy(action_type)
        if facts is None:
            facts = facts_for(action_type, agent, proposal, rate_count=rate_count, policies=policies, shadow=shadow)
        decided = route(action_type, agent, proposal, facts, ask_checker=ask_checker)
        routed_as = decided.as_json()
        if shadow is not None:
            routed_as["shadow"] = shadow_route(shadow, action_type, agent, proposal, facts, decided)
        tracing.route_done(routing, decided, routed_as.get("shadow"))
    return decided, routed_as, facts


def _store(*, agent, action_type, proposal, body, idempotency_key, digest, decided, routed_as):
    """The routed action and its events (proposed, routed, each checker's verdict that is not a
    schema pass), written by one statement: the action's INSERT with the audit append."""
    status = STATUS_FOR_LEVEL[decided.level]
    now = timezone.now()
    action = Action(
        agent=agent,
        action_type=action_type,
        policy_version=action_type.version,
        status=status,
        autonomy=decided.level,
        params=proposal.params,
        final_params=proposal.params if status == Action.Status.APPROVED else None,
        summary=action_type.render_summary(proposal.params),
        route=routed_as,
        session_id=proposal.session_id,
        on_behalf_of=proposal.on_behalf_of,
        model=proposal.model,
        prompt_version=proposal.prompt_version,
        confidence=proposal.confidence,
        rationale=proposal.rationale,
        context=proposal.context,
        batch=proposal.batch,
        callback_url=proposal.callback_url or agent.callback_url,
        idempotency_key=idempotency_key,
        request_digest=digest,
        traceparent=tracing.current_traceparent(),
        created_at=now,
        due_at=now + action_type.sla if status == Action.Status.PENDING else None,
        decided_at=now if status == Action.Status.APPROVED else None,
    )
    routed = {"level": decided.level, "status": status, "policy_version": action_type.version, **routed_as}
    record_many_with(
        insert_statement(action),
        [
            {"kind": "action.proposed", "actor": Actor.agent(agent), "action": action, "data": {"proposal": body}},
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
        ],
    )
    action._state.adding, action._state.db = False, connection.alias
    action.has_no_decision_yet()
    return action


def _claim(agent_id, key):
    """(claimed, id, request digest of the action the key already made): the key's lock, held
    until the transaction ends (a second request with the same key meanwhile is in flight), and
    the lookup after it, in one round trip (migration approvals.0014)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT claimed, action_id, request_digest FROM approvals_claim_idempotency_key(%s, %s)", [agent_id, key]
        )
        return cursor.fetchone()
