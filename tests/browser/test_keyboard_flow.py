"""A reviewer decides card after card by keyboard alone (#32): the keyboard is never lost, an
open appeal takes part in j/k, `r` lands in a free-text reason, and updates that arrive while a
reviewer edits or types are applied when they finish, not dropped."""

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from approvals.models import Action, Appeal
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def propose(api, n, **fields):
    return api.propose(params={"customer": f"cus_{n}", "amount": 10 + n, "currency": "USD"}, **fields).json()["id"]


def open_live_inbox(page, asgi_url, supervisor):
    """The inbox as the ASGI server serves it, with its event stream open, and a counter of the
    stream's messages (to know that an update arrived)."""
    log_in(page, SimpleNamespace(url=asgi_url), supervisor)
    expect(page.locator("body[data-live]")).to_have_count(1)
    page.evaluate("window.streamed = 0; document.body.addEventListener('htmx:sseMessage', () => window.streamed++)")


def settled(page):
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


def arrives_while_busy(page, api, n):
    """An agent proposes while the reviewer is busy; returns once the stream told the page."""
    before = page.evaluate("window.streamed")
    action_id = propose(api, n)
    page.wait_for_function(f"() => window.streamed > {before}")
    return action_id


def test_five_cards_decided_by_keyboard_alone_with_an_appeal_open_and_a_card_arriving_mid_edit(
    page, asgi_url, supervisor, agent, api, reversible
):
    appeal = Appeal.open_for(agent=agent, kind="human", message="A person, please")
    first, second, third, fourth = (propose(api, n) for n in range(4))
    open_live_inbox(page, asgi_url, supervisor)
    keys = page.keyboard

    # The keyboard starts on the first card, the open appeal, and j/k move through it.
    expect(page.locator(f"#appeal-{appeal.pk}")).to_be_focused()
    keys.press("j")
    expect(page.locator(f"#action-{first}")).to_be_focused()

    # A decision: the next card takes the keyboard, and the decided one stays on the page with
    # its "Allow similar…" through the queue's refresh.
    with page.expect_response(lambda response: "/inbox/changes" in response.url and response.status == 200):
        keys.press("a")
    expect(page.locator(f"#action-{second}")).to_be_focused()
    decided = page.locator(f"#action-{first}")
    expect(decided).to_contain_text("Approved by sue")
    expect(decided.get_by_role("link", name="Allow similar…")).to_be_visible()

    # An edit, and a card arriving meanwhile.
    keys.press("e")
    amount = page.locator(f"#action-{second}").get_by_label("Amount")
    expect(amount).to_be_focused()
    fifth = arrives_while_busy(page, api, 4)
    expect(page.locator(f"#action-{fifth}")).to_have_count(0)  # the edit is not pulled from under the reviewer
    keys.type("9")
    keys.press("Tab")  # checks the edit
    expect(page.locator(f"#action-{second} table.diff")).to_be_visible()
    settled(page)  # htmx wires a swapped card's buttons as it settles: no person types faster
    amount.focus()
    keys.press("Control+Enter")
    expect(page.locator(f"#action-{second}")).to_contain_text("Approved by sue")
    expect(page.locator(f"#action-{third}")).to_be_focused()
    expect(page.locator(f"#action-{fifth}")).to_be_visible()

    for following in (fourth, fifth, None):
        keys.press("a")
        if following:
            expect(page.locator(f"#action-{following}")).to_be_focused()

    expect(page.locator(f"#action-{fifth}")).to_contain_text("Approved by sue")
    statuses = dict(Action.objects.filter(pk__in=[first, second, third, fourth, fifth]).values_list("pk", "status"))
    assert set(statuses.values()) == {"approved"} and len(statuses) == 5
    assert Action.objects.get(pk=second).final_params["amount"] == 9
    assert Appeal.objects.get(pk=appeal.pk).resolved_at is None  # the appeal was moved past, not touched


def test_r_lands_in_a_free_text_reason_and_enter_rejects_with_it(page, asgi_url, supervisor, api):
    first, second = propose(api, 0), propose(api, 1)
    open_live_inbox(page, asgi_url, supervisor)

    page.keyboard.press("r")
    expect(page.locator(f"#action-{first}").get_by_label("Reason", exact=True)).to_be_focused()
    page.keyboard.type("customer asked for store credit")
    page.keyboard.press("Enter")

    expect(page.locator(f"#action-{first}")).to_contain_text("Rejected by sue")
    expect(page.locator(f"#action-{second}")).to_be_focused()
    assert api.get(f"/actions/{first}").json()["decision"]["reason"] == "customer asked for store credit"


def test_a_card_that_arrives_while_a_reason_is_typed_appears_once_the_panel_closes(page, asgi_url, supervisor, api):
    first = propose(api, 0)
    open_live_inbox(page, asgi_url, supervisor)
    page.keyboard.press("r")
    page.keyboard.type("not sure yet")

    arrived = arrives_while_busy(page, api, 1)
    expect(page.locator(f"#action-{arrived}")).to_have_count(0)
    page.keyboard.press("Escape")  # closes the panel, rejects nothing

    # Nothing else changes on the server: only the deferred update can bring the card.
    expect(page.locator(f"#action-{arrived}")).to_be_visible()
    expect(page.locator(f"#action-{first}")).to_be_focused()
    assert Action.objects.get(pk=first).status == "pending"


def test_after_a_batch_the_keyboard_is_on_the_next_waiting_card(page, live_server, supervisor, api, reversible):
    first, second, third = (propose(api, n) for n in range(3))
    log_in(page, live_server, supervisor)

    for _ in range(2):
        page.keyboard.press("x")
        page.keyboard.press("j")
    page.get_by_role("button", name="Approve 2…").click()
    page.get_by_role("button", name="Yes, approve 2").click()

    expect(page.locator(f"#action-{third}")).to_be_focused()
    page.keyboard.press("a")
    expect(page.locator(f"#action-{third}")).to_contain_text("Approved by sue")
    assert {Action.objects.get(pk=pk).status for pk in (first, second)} == {"approved"}
