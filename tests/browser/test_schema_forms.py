"""A supervisor edits a Slack message built from a Pydantic model's schema in Chromium: adds and
removes a row of blocks, chooses the schedule's variant, sets a nullable field to null, and the
agent receives exactly that; Enter in a field only checks the edit."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_approve import log_in
from tests.schemas.conftest import corpus_type

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARAMS = {
    "channel": "C024BE91L",
    "text": "Deploy at 5",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "First"}}],
    "schedule": None,
}


def settle(page):
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


def open_edit(page, card):
    card.get_by_role("link", name="Edit…").click()
    expect(card.locator("form.edit")).to_be_visible()
    settle(page)


@pytest.fixture
def slack(supervisor):
    return corpus_type("slack.post_message", "pydantic_slack_post_message.json")


def test_rows_a_variant_and_null_reach_the_agent(page, live_server, supervisor, api, slack):
    action_id = api.propose(action="slack.post_message", params=PARAMS).json()["id"]
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")
    open_edit(page, card)

    card.get_by_role("button", name="Add block").click()
    settle(page)
    expect(card.get_by_text("Block 2", exact=True)).to_be_visible()
    card.locator('[name="blocks.1.text.text"]').fill("Second")
    card.locator('[name="blocks.1.text.text"]').press("Tab")
    settle(page)
    card.get_by_role("button", name="Remove Block 1").click()
    settle(page)
    expect(card.locator('[name="blocks.1.text.text"]')).to_have_count(0)
    expect(card.locator('[name="blocks.0.text.text"]')).to_have_value("Second")

    card.locator('[name="blocks.0.block_id.__variant"]').select_option(label="empty (null)")
    settle(page)
    card.locator('[name="schedule.__variant"]').select_option(label="Schedule")
    settle(page)
    card.locator('[name="schedule.post_at"]').fill("2026-12-24T17:00:00Z")
    card.locator('[name="schedule.post_at"]').press("Tab")
    settle(page)
    expect(card.locator("table.diff")).to_contain_text("Schedule")
    card.get_by_role("button", name="Approve with changes").click()

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Approved by sue")
    final = api.get(f"/actions/{action_id}").json()["final_params"]
    assert final == {
        "channel": "C024BE91L",
        "text": "Deploy at 5",
        "blocks": [{"text": {"text": "Second"}, "block_id": None}],
        "schedule": {"post_at": "2026-12-24T17:00:00Z"},
    }


def test_enter_in_an_edit_field_checks_and_does_not_approve(page, live_server, supervisor, api, slack):
    action_id = api.propose(action="slack.post_message", params=PARAMS).json()["id"]
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")
    open_edit(page, card)

    card.locator('[name="text"]').fill("Deploy at 6")
    card.locator('[name="text"]').press("Enter")
    settle(page)

    expect(card.locator("table.diff")).to_contain_text("Deploy at 6")
    expect(card.get_by_role("button", name="Approve with changes")).to_be_visible()
    assert api.get(f"/actions/{action_id}").json()["status"] == "pending"
