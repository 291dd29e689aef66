"""Agents present OAuth access tokens from a configured authorization server (the real provider in
conftest) to /api/v1/ and /mcp/, served by the ASGI application as in production. Every refusal is
a 401 (or 403 for a missing scope) naming the resource metadata and saying precisely what is wrong."""

import time

import httpx
import pytest

from approvals.models import Action

pytestmark = pytest.mark.django_db(transaction=True)

PROPOSAL = {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 40, "currency": "USD"}}


def propose(asgi_url, token):
    return httpx.post(
        f"{asgi_url}/api/v1/actions", json=PROPOSAL, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def challenge(response):
    return response.headers["WWW-Authenticate"]


def test_an_agent_proposes_with_an_access_token_from_the_provider(asgi_url, provider, agent, refund_type):
    token = provider.token("billing-agent", resource=asgi_url + "/")

    answer = propose(asgi_url, token)

    assert answer.status_code == 201, answer.text
    assert Action.objects.get(pk=answer.json()["id"]).agent == agent
    waited = httpx.get(
        f"{asgi_url}/api/v1/actions/{answer.json()['id']}/wait?timeout=0",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert waited.status_code == 200 and waited.json()["status"] == "pending"


def test_no_token_is_told_where_to_get_one(asgi_url, provider):
    for url in (f"{asgi_url}/api/v1/action-types", f"{asgi_url}/mcp/"):
        answer = httpx.post(url, json={}) if url.endswith("/mcp/") else httpx.get(url)

        assert answer.status_code == 401
        assert challenge(answer) == (
            f'Bearer resource_metadata="{asgi_url}/.well-known/oauth-protected-resource", scope="countersign:agent"'
        )


def test_the_protected_resource_metadata_names_the_trusted_authorization_server(asgi_url, provider):
    answer = httpx.get(f"{asgi_url}/.well-known/oauth-protected-resource")

    assert answer.status_code == 200
    document = answer.json()
    assert document["resource"] == asgi_url + "/"
    assert document["authorization_servers"] == [provider.issuer]
    assert document["scopes_supported"] == ["countersign:agent"]
    assert document["bearer_methods_supported"] == ["header"]


@pytest.mark.parametrize("endpoint", ["api", "mcp"])
def test_a_token_for_another_resource_is_refused_naming_the_audience(asgi_url, provider, agent, endpoint):
    token = provider.token("billing-agent", resource="https://other.example/")

    answer = call(asgi_url, endpoint, token)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_token"
    assert answer.json()["error"]["message"] == (
        f"The token's audience is https://other.example/, not this resource {asgi_url}/: "
        f"request it with resource={asgi_url}/ (RFC 8707)."
    )
    assert 'error="invalid_token"' in challenge(answer)
    assert f"error_description=\"The token's audience is https://other.example/, not this resource {asgi_url}/" in (
        challenge(answer)
    )
    assert "resource_metadata=" in challenge(answer)


@pytest.mark.parametrize("endpoint", ["api", "mcp"])
def test_a_token_from_an_issuer_not_trusted_is_refused_naming_it(asgi_url, provider, agent, endpoint):
    token = provider.token("billing-agent", resource=asgi_url + "/", issuer=provider.other_issuer)

    answer = call(asgi_url, endpoint, token)

    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == (
        f'The token\'s issuer "{provider.other_issuer}" is not one this server trusts ({provider.issuer}).'
    )
    assert "error_description=\"The token's issuer" in challenge(answer)


@pytest.mark.parametrize("endpoint", ["api", "mcp"])
def test_an_expired_token_is_refused_saying_when_it_expired(asgi_url, provider, settings, endpoint):
    settings.HITL_OAUTH_LEEWAY_SECONDS = 0
    from policies.models import Agent

    Agent.objects.create(name="short-agent")
    token = provider.token("short-agent", resource=asgi_url + "/")  # lives one second
    time.sleep(2.1)

    answer = call(asgi_url, endpoint, token)

    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("The token expired at 20")
    assert 'error_description="The token expired at' in challenge(answer)


def test_a_token_without_the_scope_is_forbidden_naming_the_scope(asgi_url, provider, agent):
    token = provider.token("billing-agent", resource=asgi_url + "/", scope="")

    answer = call(asgi_url, "api", token)

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in challenge(answer)
    assert 'scope="countersign:agent"' in challenge(answer)


def test_a_token_naming_no_agent_here_is_refused(asgi_url, provider, agent):
    token = provider.token("unknown-agent", resource=asgi_url + "/")

    answer = call(asgi_url, "api", token)

    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith('No agent here is named "unknown-agent"')


def test_a_forged_signature_is_refused(asgi_url, provider, agent):
    header, payload, signature = provider.token("billing-agent", resource=asgi_url + "/").split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"

    answer = call(asgi_url, "api", forged)

    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith(
        f"The token's signature does not verify against {provider.issuer}"
    )
    assert not Action.objects.exists()


def call(asgi_url, endpoint, token):
    headers = {"Authorization": f"Bearer {token}"}
    if endpoint == "mcp":
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        headers["Accept"] = "application/json, text/event-stream"
        return httpx.post(f"{asgi_url}/mcp/", json=initialize, headers=headers, timeout=30)
    return httpx.get(f"{asgi_url}/api/v1/action-types", headers=headers, timeout=30)
