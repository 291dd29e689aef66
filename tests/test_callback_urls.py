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
        ("http://[2002:7f00:1::]/hook", "loopback address (127.0.0.1) embedded in an IPv6 one"),  # 6to4
        ("http://[2002:a00:1::1]/hook", "private address (10.0.0.1) embedded"),  # 6to4
        ("http://[2002:a9fe:a9fe::]/hook", "link-local address (169.254.169.254) embedded"),  # 6to4 of the metadata
        ("http://[fec0::1]/hook", "site-local"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "loopback address (127.0.0.1) embedded"),  # Teredo
        ("http://[64:ff9b::7f00:1]/hook", "loopback address (127.0.0.1) embedded"),  # NAT64
        ("http://[64:ff9b::a9fe:a9fe]/hook", "link-local address (169.254.169.254) embedded"),  # NAT64
        ("http://[64:ff9b:1::a00:1]/hook", "NAT64 local-use"),
        ("http://[::127.0.0.1]/hook", "loopback address (127.0.0.1) embedded"),  # IPv4-compatible
        ("http://[::ffff:10.0.0.1]/hook", "private address (10.0.0.1) embedded"),
        ("http://[::]/hook", "reserved"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fc00::1]/hook", "private"),
        ("http://[ff02::1]/hook", "reserved"),
        ("http://[2001:db8::1]/hook", "private"),  # documentation
        ("http://[100::1]/hook", "reserved"),  # discard-only
        ("http://192.0.2.1/hook", "private"),  # documentation
        ("http://198.18.0.1/hook", "private"),  # benchmarking
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one number
        ("http://0x7f.1/hook", "loopback"),
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


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808", "::ffff:8.8.8.8", "2606:4700::1111"])
def test_an_address_that_leads_to_a_public_one_is_not_refused(address):
    from ipaddress import ip_address

    from policies.callback_urls import address_refusal

    assert address_refusal(ip_address(address)) == ""


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
