"""The inbox's layout in Chromium, at a desktop's width and a phone's: compact cards, and the
sticky batch bar never covering the card or the group heading a link or a key brings into view."""

import pytest

from tests.browser.test_approve import log_in
from tests.inbox.conftest import pending_actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHERE = """(id) => {
  const card = document.getElementById(id), head = card.closest(".group").querySelector(".group-head");
  return {
    bar: document.querySelector(".batchbar").getBoundingClientRect().bottom,
    card: card.getBoundingClientRect().top,
    head: head ? head.getBoundingClientRect().top : null,
    height: card.getBoundingClientRect().height,
  };
}"""


@pytest.mark.parametrize("width, height, tallest", [(1280, 900, 300), (390, 844, 420)], ids=["desktop", "phone"])
def test_a_card_reached_by_a_link_stops_below_the_batch_bar_with_its_group_heading(
    browser, live_server, supervisor, agent, refund_type, width, height, tallest
):
    first, *_ = pending_actions(agent, refund_type, 3, batch="monday")
    pending_actions(agent, refund_type, 4, session_id="s1", minutes=60)
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, live_server, supervisor)

    page.goto(f"{live_server.url}/#action-{first.pk}")  # as "Cancel" in an edit comes back
    page.wait_for_timeout(200)

    seen = page.evaluate(WHERE, f"action-{first.pk}")
    assert seen["card"] >= seen["bar"], "the batch bar covers the card"
    assert seen["head"] >= seen["bar"], "the batch bar covers the group's heading"
    assert seen["height"] <= tallest
    page.close()
