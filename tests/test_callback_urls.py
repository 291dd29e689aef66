"""A proposal's callback_url is untrusted: refused unless it is a public http(s) address."""

import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import Agent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://0.0.0.0/hook", "reserved"),
        ("http://100.64.0.1/hook", "reserved"),
        ("http://240.0.0.1/hook", "reserved"),
        ("http://224.0.0.1/hook", "reserved"),
    ],
)
def test_a_callback_to_an_address_only_the_server_reaches_is_refused(api, refund_type, url, why):
    response = api.propose(callback_url=url)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "callback_url_refused"
    assert why in error["message"]
    assert not Action.objects.exists()
    refused = Event.objects.get(kind="action.refused")
    assert refused.data["code"] == "callback_url_refused"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://user:secret@hooks.example.com/x", "credentials"),
        ("https://token@hooks.example.com/x", "credentials"),
        ("ftp://hooks.example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "http:// or https://"),
        ("https:///nohost", "names no host"),
        ("http://hooks.example.com:99999/x", "malformed"),
        ("http://no-such-host.invalid/x", "does not resolve"),
    ],
)
def test_a_callback_url_that_is_not_a_plain_http_address_is_refused(api, refund_type, url, why):
    response = api.propose(callback_url=url)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "callback_url_refused"
    assert why in response.json()["error"]["message"]
    assert not Action.objects.exists()


def test_the_refusal_never_echoes_the_credentials_into_the_message(api, refund_type):
    response = api.propose(callback_url="https://user:hunter2@hooks.example.com/x")

    assert "hunter2" not in response.json()["error"]["message"]


def test_an_allow_listed_network_may_be_called_back(api, refund_type, settings):
    settings.HITL_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    response = api.propose(callback_url="http://127.0.0.1:9/hook")

    assert response.status_code == 201
    assert Action.objects.get(pk=response.json()["id"]).callback_url == "http://127.0.0.1:9/hook"
    assert api.propose(callback_url="http://10.0.0.1/hook").status_code == 422


def test_an_agent_s_default_callback_url_applies_when_the_proposal_names_none(api, refund_type, agent, settings):
    settings.HITL_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    Agent.objects.filter(pk=agent.pk).update(callback_url="http://127.0.0.1:9/default")

    first = api.propose().json()["id"]
    second = api.propose(callback_url="http://127.0.0.1:9/own").json()["id"]

    assert Action.objects.get(pk=first).callback_url == "http://127.0.0.1:9/default"
    assert Action.objects.get(pk=second).callback_url == "http://127.0.0.1:9/own"


def test_the_admin_refuses_a_private_default_callback_url(client, superuser, agent):
    client.force_login(superuser)

    response = client.post(
        f"/admin/policies/agent/{agent.pk}/change/",
        {
            "name": agent.name,
            "description": "",
            "pause": "",
            "pause_reason": "",
            "callback_url": "http://10.0.0.5/hook",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "private address" in response.content.decode()
    agent.refresh_from_db()
    assert agent.callback_url == ""


def test_rotating_the_callback_secret_shows_a_new_one_once_and_is_audited(client, superuser, agent):
    before = agent.callback_secret()
    client.force_login(superuser)

    response = client.post(
        "/admin/policies/agent/",
        {"action": "rotate_callback_secret", "_selected_action": [agent.pk]},
        follow=True,
    )

    agent.refresh_from_db()
    after = agent.callback_secret()
    assert after != before and after.startswith("whsec_")
    assert after in response.content.decode()
    assert Event.objects.get(kind="policy.changed", agent=agent.name).data["what"] == (
        "agent callback signing secret rotated"
    )
    assert after not in client.get(f"/admin/policies/agent/{agent.pk}/change/").content.decode()
