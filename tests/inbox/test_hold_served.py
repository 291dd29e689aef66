"""Hold and release through the real ASGI server, outside any test transaction: the switch and its
`policy.changed` event commit together (#32: a hold saved without its event answered a bare 500)."""

import re

import httpx
import pytest

from audit.models import Event
from policies.models import ActionType, Agent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in(base, user):
    """An httpx client with a browser's cookies, logged in through the login form."""
    browser = httpx.Client(base_url=base, timeout=30)
    form = browser.get("/accounts/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    credentials = {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    browser.post("/accounts/login/", data=credentials)
    return browser


def post_hold(browser, fields):
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get("/hold").text).group(1)
    fields = {**fields, "csrfmiddlewaretoken": token}
    answer = browser.post("/hold", data=fields, headers={"Referer": str(browser.base_url)})
    assert answer.status_code == 302, answer.text[:500]
    return browser.get(answer.headers["location"])


def test_holding_and_releasing_a_type_as_the_server_runs_it_commits_the_switch_with_its_audit_event(
    asgi_url, supervisor, refund_type
):
    browser = logged_in(asgi_url, supervisor)

    page = post_hold(browser, {"target": f"type:{refund_type.pk}", "reason": "checking refunds", "hold": "1"})

    assert "the change is in the audit log" in page.text
    held = ActionType.objects.get(pk=refund_type.pk)
    assert (held.pause, held.pause_reason, held.version) == ("hold", "checking refunds", 2)
    event = Event.objects.get(kind="policy.changed", action_type=refund_type.key)
    assert event.actor_name == "sue" and event.data["diff"]["pause"] == {"from": "", "to": "hold"}
    assert "payments.refund" in page.text and "checking refunds" in page.text  # the page lists what is held

    page = post_hold(browser, {"target": f"type:{refund_type.pk}", "release": "1"})

    assert "the change is in the audit log" in page.text
    assert ActionType.objects.get(pk=refund_type.pk).pause == ""
    assert [e.data["diff"]["pause"]["to"] for e in Event.objects.filter(kind="policy.changed").order_by("seq")] == [
        "hold",
        "",
    ]


def test_holding_an_agent_as_the_server_runs_it_is_audited(asgi_url, supervisor, api, pending):
    browser = logged_in(asgi_url, supervisor)

    post_hold(browser, {"target": f"agent:{pending.agent.pk}", "reason": "flooding the inbox", "hold": "1"})

    assert Agent.objects.get(pk=pending.agent.pk).pause == "hold"
    event = Event.objects.get(kind="policy.changed", agent=pending.agent.name)
    assert event.data["diff"]["pause"] == {"from": "", "to": "hold"}


def test_releasing_what_an_admin_blocked_changes_nothing_and_says_why(asgi_url, supervisor, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(pause="block", pause_reason="incident")
    browser = logged_in(asgi_url, supervisor)

    page = post_hold(browser, {"target": f"type:{refund_type.pk}", "release": "1"})

    assert "only they can change its kill switch" in page.text
    blocked = ActionType.objects.get(pk=refund_type.pk)
    assert (blocked.pause, blocked.version) == ("block", 1)
    assert not Event.objects.filter(kind="policy.changed").exists()
