"""Approvals inside the agent's trace (#36): the proposal, its routing, the wait for a person, the
decision and the outcome arrive at an OTLP/HTTP collector as spans of the agent's own trace,
joined through the W3C traceparent that hitl_client sends. The test plays the collector: a local
HTTP server decoding the protobuf the OpenTelemetry SDK exports."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider

from approvals import tracing
from approvals.models import Action
from hitl_client import Client
from policies.models import ActionType


class Collector(BaseHTTPRequestHandler):
    spans = []
    paths = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.paths.append((self.path, self.headers["Content-Type"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}.get("service.name")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    Collector.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                            "status": span.status.code,
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "service": service,
                        }
                    )
        payload = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def _value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind)


@pytest.fixture
def collector(monkeypatch):
    """The collector, and Countersign configured by the standard variables to export to it."""
    Collector.spans, Collector.paths = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "countersign-test")
    tracing.reset()
    yield Collector
    tracing.reset()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def tracing_read_afresh():
    tracing.reset()
    yield
    tracing.reset()


def spans_named(name):
    tracing.flush()
    return [span for span in Collector.spans if span["name"] == name]


@pytest.fixture
def agent_tracer():
    """The agent's own tracing: an OpenTelemetry SDK of its own (no exporter needed to have spans)."""
    return TracerProvider().get_tracer("billing-agent")


@pytest.mark.django_db(transaction=True)
def test_the_approval_is_part_of_the_agents_trace(collector, asgi_url, token, refund_type, supervisor, agent_tracer):
    with Client(asgi_url, token) as client, agent_tracer.start_as_current_span("refund tool call") as agent_span:
        proposed = client.propose(
            "payments.refund",
            {"customer": "cus_1", "amount": 750, "currency": "USD"},
            session_id="run-42",
            model="gpt-5.1",
        )
        action = Action.objects.get(pk=proposed["id"])
        action.approve(by=supervisor, params={**action.params, "amount": 500}, reason="Half now")
        client.report(proposed["id"], succeeded=True, output={"refund": "re_1"})

    agent_trace = format(agent_span.get_span_context().trace_id, "032x")
    agent_span_id = format(agent_span.get_span_context().span_id, "016x")
    [propose] = spans_named("countersign propose payments.refund")
    [route] = spans_named("countersign route")
    [wait] = spans_named("countersign wait for a person")
    [decision] = spans_named("countersign decision")
    [outcome] = spans_named("execute_tool payments.refund")
    # One trace, the agent's; the proposal is a child of the agent's span, the rest of the proposal's.
    assert {s["trace_id"] for s in (propose, route, wait, decision, outcome)} == {agent_trace}
    assert propose["parent"] == agent_span_id
    assert {route["parent"], wait["parent"], decision["parent"], outcome["parent"]} == {propose["span_id"]}
    assert propose["service"] == "countersign-test"
    assert collector.paths[0] == ("/v1/traces", "application/x-protobuf")
    # GenAI semantic conventions where they exist, countersign.* for the rest.
    assert (
        propose["attributes"].items()
        >= {
            "gen_ai.tool.name": "payments.refund",
            "gen_ai.tool.call.id": proposed["id"],
            "gen_ai.agent.name": "billing-agent",
            "gen_ai.conversation.id": "run-42",
            "gen_ai.request.model": "gpt-5.1",
            "countersign.autonomy": "confirm",
            "countersign.action.status": "pending",
        }.items()
    )
    assert route["attributes"]["countersign.route.reasons"] == ["policy for 'payments.refund': Confirm before act"]
    assert (
        decision["attributes"].items()
        >= {
            "countersign.decision": "edited",
            "countersign.decider": "sue",
            "countersign.decider.kind": "person",
            "countersign.decision.reason": "Half now",
        }.items()
    )
    # The wait spans the time the action was pending, as the action holds it.
    action.refresh_from_db()
    assert wait["start"] == int(action.created_at.timestamp() * 1e9) and wait["end"] == int(
        action.decided_at.timestamp() * 1e9
    )
    assert wait["attributes"]["countersign.wait.seconds"] == pytest.approx((wait["end"] - wait["start"]) / 1e9)
    assert outcome["attributes"]["gen_ai.operation.name"] == "execute_tool"
    assert outcome["attributes"]["countersign.outcome"] == "succeeded"
    # Parameters and outputs never leave in a span.
    assert not any("cus_1" in str(span["attributes"]) or "re_1" in str(span["attributes"]) for span in Collector.spans)


@pytest.mark.django_db(transaction=True)
def test_a_rejection_and_a_failed_outcome_are_error_spans(collector, api, refund_type, supervisor):
    rejected = Action.objects.get(pk=api.propose().json()["id"])
    rejected.reject(by=supervisor, reason="Not a double charge")
    ActionType.objects.filter(pk=refund_type.pk).update(autonomy="audit")
    ran = api.propose(params={"customer": "cus_2", "amount": 5, "currency": "USD"}).json()
    api.post(f"/actions/{ran['id']}/result", {"status": "failed", "error": "card expired"})

    decisions = {s["attributes"]["gen_ai.tool.call.id"]: s for s in spans_named("countersign decision")}
    assert decisions[str(rejected.pk)]["status"] == 2  # STATUS_CODE_ERROR
    assert decisions[str(rejected.pk)]["attributes"]["countersign.decision"] == "rejected"
    # Approved by the policy at once: its decision is a child of the proposal, by the policy.
    auto = decisions[ran["id"]]
    assert auto["attributes"]["countersign.decider.kind"] == "policy"
    [propose] = [
        s
        for s in spans_named("countersign propose payments.refund")
        if s["attributes"]["gen_ai.tool.call.id"] == ran["id"]
    ]
    assert auto["parent"] == propose["span_id"] and propose["parent"] == ""  # no traceparent: a trace of its own
    [failed] = spans_named("execute_tool payments.refund")
    assert failed["status"] == 2 and failed["attributes"]["error.type"] == "tool_failed"


@pytest.mark.django_db(transaction=True)
def test_a_refused_proposal_is_an_error_span_with_its_code(collector, api, refund_type):
    response = api.propose(params={"customer": "nobody", "amount": -1, "currency": "XYZ"})

    assert response.status_code == 422
    [propose] = spans_named("countersign propose payments.refund")
    assert propose["status"] == 2 and propose["attributes"]["countersign.refusal.code"] == "params_invalid"


@pytest.mark.django_db(transaction=True)
def test_a_bad_traceparent_starts_a_trace_of_its_own(collector, api, refund_type):
    api.client.post(
        "/api/v1/actions",
        data='{"action": "payments.refund", "params": {"customer": "cus_1", "amount": 7, "currency": "USD"}}',
        content_type="application/json",
        headers={**api.headers, "traceparent": "00-zzzz-not-a-trace-01"},
    )

    [propose] = spans_named("countersign propose payments.refund")
    assert propose["parent"] == "" and len(propose["trace_id"]) == 32


@pytest.mark.django_db(transaction=True)
def test_tracing_is_off_when_no_otel_variable_is_set(monkeypatch, api, refund_type, supervisor):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    tracing.reset()

    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor)

    assert not tracing.enabled()
    assert action.traceparent == ""


def test_otel_sdk_disabled_turns_it_off_even_with_an_endpoint(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracing.reset()

    assert not tracing.enabled()


def test_the_client_sends_the_current_span_or_the_given_traceparent(agent_tracer):
    from hitl_client.tracing import trace_headers

    assert trace_headers() == {}  # no current span: nothing to send
    given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert trace_headers(given) == {"traceparent": given}
    with agent_tracer.start_as_current_span("tool call") as span:
        sent = trace_headers()["traceparent"]
    assert sent.startswith(f"00-{span.get_span_context().trace_id:032x}-{span.get_span_context().span_id:016x}-")
