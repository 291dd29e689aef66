"""The reviewer's figures (#20), counted in Chromium: how many keystrokes and clicks a decision
takes. The page itself counts them: every key pressed (typing in a field apart) and every mouse
button pressed, across pages, from the moment the card has the keyboard's focus (j and k move
between cards) or, for mouse figures, from the loaded inbox. The README's table quotes these."""

import pytest
from playwright.sync_api import expect

from approvals.models import Action
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Installed before any page script: counts survive a navigation (sessionStorage, one tab).
COUNTER = """(() => {
  const KEY = "countersign-figures";
  const read = () => JSON.parse(sessionStorage.getItem(KEY) || '{"keys": [], "typed": 0, "clicks": 0}');
  const add = (change) => { const f = read(); change(f); sessionStorage.setItem(KEY, JSON.stringify(f)); };
  const field = (el) => el && (el.tagName === "TEXTAREA" || el.isContentEditable ||
    (el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|hidden)$/.test(el.type)));
  const NOT_TYPING = ["Enter", "Tab", "Escape", "Control", "Meta", "Alt"];
  document.addEventListener("keydown", (e) => {
    if (!e.isTrusted || e.repeat) return;
    if (field(e.target) && !NOT_TYPING.includes(e.key)) add((f) => { f.typed += 1; });
    else add((f) => { f.keys.push(e.key); });
  }, true);
  document.addEventListener("mousedown", (e) => { if (e.isTrusted) add((f) => { f.clicks += 1; }); }, true);
})();"""


class Figures:
    def __init__(self, page):
        self.page = page
        page.add_init_script(COUNTER)

    def start(self):
        self.page.evaluate("sessionStorage.removeItem('countersign-figures')")

    def read(self):
        return self.page.evaluate("JSON.parse(sessionStorage.getItem('countersign-figures') || '{}')")


@pytest.fixture
def figures(page):
    return Figures(page)


def propose(api, amount=750, **fields):
    return api.propose(params={"customer": "cus_123", "amount": amount, "currency": "USD"}, **fields).json()["id"]


def focus_the_card(page, action_id):
    page.keyboard.press("j")
    expect(page.locator(f"#action-{action_id}")).to_be_focused()


def status(action_id):
    return Action.objects.get(pk=action_id).status


def test_approving_a_reversible_card_takes_one_keystroke(page, live_server, supervisor, api, reversible, figures):
    action_id = propose(api)
    log_in(page, live_server, supervisor)
    focus_the_card(page, action_id)
    figures.start()

    page.keyboard.press("a")

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Approved by sue")
    assert figures.read() == {"keys": ["a"], "typed": 0, "clicks": 0}
    assert status(action_id) == "approved"


def test_approving_an_irreversible_card_takes_two_keystrokes(page, live_server, supervisor, api, figures):
    action_id = propose(api)
    log_in(page, live_server, supervisor)
    focus_the_card(page, action_id)
    figures.start()

    page.keyboard.press("a")
    card = page.locator(f"#action-{action_id}")
    expect(card.get_by_role("button", name="Approve — irreversible: confirm")).to_be_focused()
    assert status(action_id) == "pending"
    page.keyboard.press("a")

    expect(card).to_contain_text("Approved by sue")
    assert figures.read() == {"keys": ["a", "a"], "typed": 0, "clicks": 0}


def test_approving_an_irreversible_card_takes_two_clicks(page, live_server, supervisor, api, figures):
    action_id = propose(api)
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")
    figures.start()

    card.get_by_role("button", name="Approve").click()
    card.get_by_role("button", name="Approve — irreversible: confirm").click()

    expect(card).to_contain_text("Approved by sue")
    assert figures.read() == {"keys": [], "typed": 0, "clicks": 2}


def test_editing_and_approving_by_keyboard_takes_three_keystrokes_plus_typing(
    page, live_server, supervisor, api, reversible, figures
):
    action_id = propose(api)
    log_in(page, live_server, supervisor)
    focus_the_card(page, action_id)
    card = page.locator(f"#action-{action_id}")
    figures.start()

    page.keyboard.press("e")
    expect(card.get_by_label("Amount")).to_be_focused()  # in the first field, its value selected
    page.keyboard.type("500")
    page.keyboard.press("Control+Enter")

    expect(card).to_contain_text("Approved by sue")
    assert figures.read() == {"keys": ["e", "Control", "Enter"], "typed": 3, "clicks": 0}
    assert Action.objects.get(pk=action_id).final_params["amount"] == 500


def test_editing_and_approving_an_irreversible_card_by_keyboard_takes_four(page, live_server, supervisor, api, figures):
    action_id = propose(api)
    log_in(page, live_server, supervisor)
    focus_the_card(page, action_id)
    card = page.locator(f"#action-{action_id}")
    figures.start()

    page.keyboard.press("e")
    expect(card.get_by_label("Amount")).to_be_focused()
    page.keyboard.type("500")
    page.keyboard.press("Control+Enter")
    expect(card.get_by_role("button", name="Approve with changes — irreversible: confirm")).to_be_focused()
    page.keyboard.press("Enter")

    expect(card).to_contain_text("Approved by sue")
    assert figures.read() == {"keys": ["e", "Control", "Enter", "Enter"], "typed": 3, "clicks": 0}
    assert Action.objects.get(pk=action_id).final_params["amount"] == 500


def test_approving_a_batch_of_five_takes_two_clicks(page, live_server, supervisor, api, figures):
    ids = [propose(api, amount=10 + n, batch="refunds-nov") for n in range(5)]
    log_in(page, live_server, supervisor)
    figures.start()

    page.get_by_role("link", name="Approve these 5…").click()
    # The confirmation page is the deliberate step: it lists each one, irreversible ones marked.
    expect(page.locator("ol.batch-list li")).to_have_count(5)
    expect(page.locator("ol.batch-list .badge", has_text="Irreversible")).to_have_count(5)
    page.get_by_role("button", name="Yes, approve 5").click()

    expect(page.get_by_text("Approved 5 actions.")).to_be_visible()
    assert figures.read() == {"keys": [], "typed": 0, "clicks": 2}
    assert {status(pk) for pk in ids} == {"approved"}
