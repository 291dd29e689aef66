"""Approvals as spans in the agent's own trace: the proposal, its routing, the wait for a person,
the decision and the outcome, exported over OTLP/HTTP with the OpenTelemetry SDK.

Configured by the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, …) and off when no endpoint is set, when `OTEL_SDK_DISABLED=true` or
when `OTEL_TRACES_EXPORTER=none`. A proposal that carries a W3C `traceparent` is a child of the
agent's span; the proposal span's own context is kept on the action, so that the wait, the
decision and the outcome, which happen later and maybe in another process, join the same trace.
Spans after the proposal are written once their change commits, with the times the action holds.

Attributes follow OpenTelemetry's GenAI semantic conventions where one exists (`gen_ai.tool.name`,
`gen_ai.tool.call.id`, `gen_ai.agent.name`, `gen_ai.conversation.id`, `gen_ai.request.model`,
`gen_ai.operation.name`, `error.type`) and the `countersign.*` set in docs/evidence.md otherwise.
Only names, levels, reasons and verdicts are exported: never parameters or outputs.
"""

import logging
import os
import threading
from contextlib import contextmanager

from django.db import transaction
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from approvals.models.status import SLA_TIMEOUT_NAME

log = logging.getLogger(__name__)

INSTRUMENTATION = "countersign"
PROPAGATOR = TraceContextTextMapPropagator()
_lock = threading.Lock()
_provider = None  # this process's TracerProvider, once configured; False when tracing is off


def _configure():
    """A TracerProvider exporting over OTLP/HTTP when the environment asks for one, else False.
    Not the global provider: the agent frameworks installed beside Countersign may set their own."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    if not (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which win over this default.
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "countersign"})
    provider = TracerProvider(resource=resource)
    # The exporter reads the endpoint, headers, timeout, compression and certificates from OTEL_*.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def provider():
    global _provider
    if _provider is None:
        with _lock:
            if _provider is None:
                _provider = _configure()
    return _provider


def enabled():
    return bool(provider())


def tracer():
    return provider().get_tracer(INSTRUMENTATION) if enabled() else trace.NoOpTracer()


def reset():
    """Read the environment again (after a test changes it), flushing what was pending."""
    global _provider
    with _lock:
        if _provider:
            _provider.shutdown()
        _provider = None


def flush(timeout_millis=5000):
    return provider().force_flush(timeout_millis) if enabled() else True


def _parent(traceparent):
    """The context a W3C `traceparent` header names; an invalid one is ignored (a new trace)."""
    return PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None


def traceparent_of(span):
    """The W3C `traceparent` of `span`, or "" for a span that records nothing."""
    carrier = {}
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent", "")


def current_traceparent():
    """The current span's `traceparent` (the proposal's, while a proposal is being stored), or ""."""
    return traceparent_of(trace.get_current_span()) if enabled() else ""


def _nanos(moment):
    return int(moment.timestamp() * 1_000_000_000) if moment else None


def action_attributes(action):
    attributes = {
        "gen_ai.tool.name": action.action_type.key,
        "gen_ai.tool.call.id": str(action.pk),
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": action.agent.name,
        "countersign.action.id": str(action.pk),
        "countersign.action.status": action.status,
        "countersign.autonomy": action.autonomy,
        "countersign.policy.version": action.policy_version,
    }
    if action.session_id:
        attributes["gen_ai.conversation.id"] = action.session_id
    if action.model:
        attributes["gen_ai.request.model"] = action.model
    return attributes


@contextmanager
def proposal_span(traceparent, key):
    """The span of one proposal, a child of the agent's span when it sent a `traceparent`; current
    while the proposal is routed and stored, so routing's span is its child and the action keeps
    its context. Yields the span (one that records nothing when tracing is off)."""
    with tracer().start_as_current_span(
        f"countersign propose {key}",
        context=_parent(traceparent),
        kind=SpanKind.SERVER,
        attributes={"gen_ai.tool.name": key},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


def proposed(span, action):
    """What the proposal became, on its span; an action the policy approved at once has its
    decision now, as a child span."""
    if not span.is_recording():
        return
    span.set_attributes(action_attributes(action))
    reasons = action.route.get("reasons", [])
    if reasons:
        span.set_attribute("countersign.route.reasons", reasons)
    if action.status == "approved":
        decided_by_policy = {"countersign.decision": "approved", "countersign.decider": "policy"}
        span.set_attributes(decided_by_policy)
        now = _nanos(action.decided_at)
        decision = tracer().start_span("countersign decision", start_time=now)  # a child of the current span
        decision.set_attributes(action_attributes(action) | decided_by_policy | {"countersign.decider.kind": "policy"})
        decision.end(end_time=now)


def traced_proposal(traceparent, key, propose, **arguments):
    """`propose(**arguments)` (→ (action, created)) inside the proposal's span."""
    with proposal_span(traceparent, key) as span:
        try:
            action, created = propose(**arguments)
        except Exception as error:
            if hasattr(error, "code"):  # a Refusal: what the agent is told, on the span too
                refused(span, error)
            raise
        proposed(span, action)
    return action, created


def refused(span, refusal):
    if span.is_recording():
        span.set_attributes({"countersign.refusal.code": refusal.code, "error.type": refusal.code})
        span.set_status(Status(StatusCode.ERROR, refusal.message))


@contextmanager
def routing_span():
    """Routing's span, a child of the proposal's; `route_done(span, decided)` names its verdict."""
    with tracer().start_as_current_span("countersign route", kind=SpanKind.INTERNAL) as span:
        yield span


def route_done(span, decided, shadow=None):
    if not span.is_recording():
        return
    span.set_attributes(
        {"countersign.autonomy": str(decided.level), "countersign.route.reasons": list(decided.reasons)}
    )
    if shadow:
        span.set_attribute("countersign.shadow.autonomy", shadow["level"])


# After the proposal: spans written once the change commits, children of the proposal's span.


def decided(actions):
    """After the deciding transaction commits, the wait and the decision of each of `actions` (a
    queryset, read then)."""
    if enabled():
        transaction.on_commit(lambda: _safely(_decisions, actions))


def reported(action):
    """After the outcome commits, its span ("execute_tool", as the GenAI conventions name it)."""
    if enabled() and action.traceparent:
        transaction.on_commit(lambda: _safely(_outcome, type(action).objects.filter(pk=action.pk)))


def _safely(write, *args):
    # A trace is for debugging: a failure to write one never fails a decision that has committed.
    try:
        write(*args)
    except Exception:
        log.exception("Could not write the trace of a decision or an outcome")


def _decisions(actions):
    actions = actions.exclude(traceparent="").select_related("action_type", "agent", "decision")
    for action in actions:
        decision = getattr(action, "decision", None)
        if decision is not None:
            verdict = "rejected" if decision.verdict == "rejected" else ("edited" if decision.edited else "approved")
            decider, kind = decision.by_name, "timeout" if decision.by_name == SLA_TIMEOUT_NAME else "person"
            reason = decision.reason
        else:  # expired, cancelled, dismissed: no Decision row
            outcome = action.outcome or {}
            verdict, decider = action.status, outcome.get("by", "")
            kind = "agent" if action.status == "cancelled" else ("person" if decider else "system")
            reason = outcome.get("reason", "")
        start, end = _nanos(action.created_at), _nanos(action.decided_at) or _nanos(action.created_at)
        decided_attributes = action_attributes(action) | {
            "countersign.decision": verdict,
            "countersign.decider": decider,
            "countersign.decider.kind": kind,
            "countersign.wait.seconds": (end - start) / 1e9,
        }
        if reason:
            decided_attributes["countersign.decision.reason"] = reason
        parent = _parent(action.traceparent)
        wait = tracer().start_span("countersign wait for a person", context=parent, start_time=start)
        wait.set_attributes(decided_attributes)
        wait.end(end_time=end)
        decision_span = tracer().start_span("countersign decision", context=parent, start_time=end)
        decision_span.set_attributes(decided_attributes)
        if verdict in ("rejected", "expired"):
            decision_span.set_status(Status(StatusCode.ERROR, reason or verdict))
        decision_span.end(end_time=end)


def _outcome(actions):
    action = actions.select_related("action_type", "agent").get()
    outcome = action.outcome or {}
    span = tracer().start_span(
        f"execute_tool {action.action_type.key}",
        context=_parent(action.traceparent),
        kind=SpanKind.CLIENT,
        start_time=_nanos(action.decided_at or action.created_at),
    )
    span.set_attributes(
        action_attributes(action)
        | {"gen_ai.operation.name": "execute_tool", "countersign.outcome": outcome.get("status", action.status)}
    )
    if action.status == "failed":
        span.set_attributes({"error.type": "tool_failed"})
        span.set_status(Status(StatusCode.ERROR, str(outcome.get("error") or "failed")[:500]))
    span.end(end_time=_nanos(action.finished_at))
