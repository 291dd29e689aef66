"""A supervisor approves in Chromium; the agent sees the decision."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The next page's scripts (deferred) attach their key handlers by "load"; under a loaded
    # machine a key pressed before that would be lost.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.wait_for_load_state("load")


def test_a_supervisor_approves_and_the_agent_sees_it(page, live_server, supervisor, api):
    action_id = api.propose(rationale="Double charge on order 981").json()["id"]
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))

    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")
    expect(card.get_by_role("heading")).to_have_text("Refund $750.00 to customer cus_123")
    expect(card).to_contain_text("Double charge on order 981")
    card.get_by_role("button", name="Approve").click()
    # A refund is irreversible: the button asks again, and only the second click decides (#20).
    confirm = page.locator(f"#action-{action_id}").get_by_role("button", name="Approve — irreversible: confirm")
    expect(confirm).to_be_focused()
    assert api.get(f"/actions/{action_id}").json()["status"] == "pending"
    confirm.click()

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Approved by sue")
    expect(page).to_have_url(re.compile(r"/$"))  # swapped in place, no navigation
    assert api.get(f"/actions/{action_id}").json()["status"] == "approved"
    assert console_errors == []  # no CSP violation, no script error
