"""/metrics in the Prometheus text format, for operators."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.insights.conftest import append_event

pytestmark = pytest.mark.django_db


def samples(response):
    """{(name, sorted labels): value} of a scrape."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_an_operator_on_this_machine_reads_the_figures(client, week):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    figures = samples(response)
    refund = (("action_type", "payments.refund"),)
    assert figures[("countersign_pending_actions", refund)] == 1
    assert figures[("countersign_oldest_pending_seconds", refund)] > 0
    assert figures[("countersign_decisions_total", (("action_type", "payments.refund"), ("verdict", "approved")))] == 2
    assert figures[("countersign_decisions_total", (("action_type", "payments.refund"), ("verdict", "edited")))] == 1
    assert figures[("countersign_decisions_total", (("action_type", "payments.refund"), ("verdict", "rejected")))] == 1
    assert figures[("countersign_escalations_total", refund)] == 2
    assert figures[("countersign_expiries_total", refund)] == 1
    assert figures[("countersign_proposals_total", (("action_type", "email.send"), ("autonomy", "audit")))] == 3
    assert figures[("countersign_proposals_total", (("action_type", "payments.refund"), ("autonomy", "confirm")))] == 6
    assert figures[("countersign_notification_failures_total", (("action_type", ""),))] == 0


def test_routing_latency_is_observed_for_each_proposal(client, api, refund_type):
    before = samples(client.get("/metrics"))[("countersign_routing_seconds_count", ())]
    assert api.propose().status_code == 201
    after = samples(client.get("/metrics"))
    assert after[("countersign_routing_seconds_count", ())] == before + 1
    assert after[("countersign_pending_actions", (("action_type", "payments.refund"),))] == 1


def test_without_a_token_other_machines_are_refused(client, settings):
    settings.HITL_METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 403
    assert "HITL_METRICS_TOKEN" in response.content.decode()


def test_with_a_token_only_its_bearer_reads_the_figures(client, settings):
    settings.HITL_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.7", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert response.status_code == 200


def test_escalations_count_whenever_they_happened(client, week):
    append_event("action.escalated", week["waiting"].created_at, week["waiting"])
    assert (
        samples(client.get("/metrics"))[("countersign_escalations_total", (("action_type", "payments.refund"),))] == 3
    )
