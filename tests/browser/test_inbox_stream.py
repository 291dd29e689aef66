"""A card arrives in an open inbox from the event stream, not from the 5 s poll."""

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_proposal_arrives_on_the_open_inbox_through_the_stream(page, asgi_url, supervisor, api):
    with page.expect_response(lambda response: "/inbox/changes" in response.url):  # the stream's "connected"
        log_in(page, SimpleNamespace(url=asgi_url), supervisor)
    expect(page.locator("body[data-live]")).to_have_count(1)  # the stream is open
    timer_asks = []
    page.on("request", lambda request: "/inbox/changes" in request.url and timer_asks.append(request.url))

    with page.expect_response(lambda response: "/inbox/changes" in response.url and response.status == 200):
        action_id = api.propose(rationale="Double charge on order 981").json()["id"]

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Double charge on order 981")
    expect(page).to_have_title("Inbox (1) · Countersign")
    # One request, the stream's: while it is open, the timer asks for nothing.
    assert len(timer_asks) == 1
