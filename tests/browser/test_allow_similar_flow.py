""""Allow similar" as a reviewer reaches it: from the card just approved (which stays on the page),
through a readable scope editor, to the next matching proposal approved without a person (#32)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where the screenshots of this flow go for a person to look at (not the README's docs/screenshots/).
SHOTS = Path(os.environ.get("HITL_SHOTS", "/tmp/countersign-shots"))


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_allow_similar_from_the_decided_card_lets_the_next_matching_proposal_through(
    page, live_server, supervisor, api, reversible, width
):
    page.set_viewport_size({"width": width, "height": 900})
    first = api.propose(params={"customer": "cus_1", "amount": 80, "currency": "USD"}, batch="refunds").json()["id"]
    api.propose(params={"customer": "cus_2", "amount": 60, "currency": "USD"}, batch="refunds")
    log_in(page, live_server, supervisor)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"inbox-{width}.png", full_page=True)

    page.keyboard.press("a")
    card = page.locator(f"#action-{first}")
    expect(card).to_contain_text("Approved by sue")
    page.screenshot(path=SHOTS / f"decided-{width}.png", full_page=True)
    card.get_by_role("link", name="Allow similar…").click()

    editor = page.get_by_role("table", name="Which parameters must match and which may vary")
    expect(editor.get_by_label("Customer")).to_have_value("any")
    expect(editor.get_by_label("Amount")).to_have_value("max")
    expect(editor.get_by_label("Currency")).to_have_value("equals")
    expect(page.get_by_role("status")).to_contain_text("where amount ≤ 80, currency = USD")
    page.screenshot(path=SHOTS / f"allow-similar-{width}.png", full_page=True)
    page.get_by_role("button", name="Allow similar", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Allowing similar payments.refund")

    similar = api.propose(params={"customer": "cus_3", "amount": 45, "currency": "USD"}).json()
    larger = api.propose(params={"customer": "cus_3", "amount": 450, "currency": "USD"}).json()
    assert similar["status"] == "approved" and larger["status"] == "pending"
