"""An email's Approve link in Chromium: log in, come back to the confirmation page, confirm."""

import re

import pytest
from playwright.sync_api import expect

from approvals import notifications
from approvals.models import Action
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_email_link_asks_for_a_login_then_one_click_approves(page, live_server, supervisor, api):
    action = Action.objects.select_related("action_type", "agent").get(pk=api.propose().json()["id"])
    link = notifications.decision_link(action, supervisor, "approve").replace("http://127.0.0.1:8000", live_server.url)
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))

    page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/email/decide/"))
    page.get_by_label("User name").fill(supervisor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/email/decide/" in url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Refund $750.00 to customer cus_123")
    assert api.get(f"/actions/{action.pk}").json()["status"] == "pending"  # opening it decided nothing

    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_text("Approved: Refund $750.00 to customer cus_123.")).to_be_visible()
    assert api.get(f"/actions/{action.pk}").json()["status"] == "approved"
    assert console_errors == []
