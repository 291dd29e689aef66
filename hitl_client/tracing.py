"""The W3C trace context a proposal carries, so that Countersign's spans (the routing, the wait
for a person, the decision, the outcome) join the agent's own trace. Taken from OpenTelemetry's
current span when the agent uses OpenTelemetry (an optional import: the client needs httpx
alone), or given as `propose(..., traceparent="00-…")`."""


def trace_headers(traceparent=None):
    if traceparent:
        return {"traceparent": traceparent}
    try:
        from opentelemetry import propagate
    except ImportError:
        return {}
    carrier = {}
    propagate.inject(carrier)
    return {name: value for name, value in carrier.items() if name in ("traceparent", "tracestate")}
