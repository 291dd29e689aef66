"""/api/v1/docs documents every endpoint, field, error code and header."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_endpoint_is_described(openapi):
    operations = [(path, method, op) for path, ops in openapi["paths"].items() for method, op in ops.items()]

    assert {path for path, _, _ in operations} >= {
        "/api/v1/actions",
        "/api/v1/actions/{action_id}",
        "/api/v1/actions/{action_id}/wait",
        "/api/v1/actions/{action_id}/result",
        "/api/v1/actions/{action_id}/cancel",
        "/api/v1/actions/{action_id}/repeat",
        "/api/v1/action-types",
        "/api/v1/humanlayer/function_calls",
        "/api/v1/humanlayer/function_calls/{call_id}",
        "/api/v1/humanlayer/agent/function_calls/{call_id}/respond",
    }
    undescribed = [f"{method} {path}" for path, method, op in operations if not op.get("description")]
    assert undescribed == []


def test_the_proposal_documents_its_header_and_every_error_code(openapi):
    propose = openapi["paths"]["/api/v1/actions"]["post"]

    [key] = [p for p in propose["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["example"]
    for code in [
        "malformed_json",
        "bad_request",
        "bad_idempotency_key",
        "idempotency_key_in_flight",
        "body_too_large",
        "params_invalid",
        "unknown_action",
        "idempotency_key_reused",
    ]:
        assert f"`{code}`" in propose["description"], code
    assert set(propose["responses"]) >= {"200", "201", "400", "401", "403", "404", "409", "413", "422"}
    assert propose["responses"]["422"]["content"]["application/json"]["example"]["error"]["code"] == "params_invalid"


def test_every_field_of_a_proposal_and_an_action_is_described(openapi):
    schemas = openapi["components"]["schemas"]

    for name in ["ProposalIn", "ActionOut", "DecisionOut", "ResultIn", "ReceiptOut"]:
        undescribed = [field for field, spec in schemas[name]["properties"].items() if "description" not in spec]
        assert undescribed == [], name


def test_the_docs_page_is_served(client):
    assert client.get("/api/v1/docs").status_code == 200
