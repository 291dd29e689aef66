"""A supervisor works the inbox in Chromium: reject, edit, batch, keyboard, permissions, hostile text."""

import re

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from approvals.models import Action
from policies.models import ActionType
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def console_errors(page):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def open_edit(page, card):
    """Click "Edit…" and wait until htmx has settled the swapped card: until then the form's
    change trigger is not attached, and a value typed that fast (no person is) would be lost."""
    card.get_by_role("link", name="Edit…").click()
    expect(card.locator("form.edit")).to_be_visible()
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


def test_a_supervisor_rejects_with_a_reason(page, live_server, supervisor, api, console_errors):
    action_id = api.propose().json()["id"]
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")

    card.get_by_text("Reject…").click()
    card.get_by_label("Common reason").select_option("Wrong parameters")
    card.get_by_label("Reason", exact=True).fill("customer asked for store credit")
    card.get_by_role("button", name="Reject").click()

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Rejected by sue")
    decision = api.get(f"/actions/{action_id}").json()["decision"]
    assert decision["reason"] == "Wrong parameters: customer asked for store credit"
    assert console_errors == []


def test_a_supervisor_edits_a_parameter_and_the_agent_receives_it(page, live_server, supervisor, api, console_errors):
    action_id = api.propose().json()["id"]
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")

    open_edit(page, card)
    amount = card.get_by_label("Amount")
    amount.fill("-5")
    amount.press("Tab")
    expect(card.locator(".field-error")).to_contain_text("More than 0.")
    card.get_by_label("Amount").fill("500")
    card.get_by_label("Amount").press("Tab")
    expect(card.get_by_role("heading")).to_have_text("Refund $500.00 to customer cus_123")
    expect(card.locator("table.diff")).to_contain_text("750")
    expect(card.locator(".field-error")).to_have_count(0)
    card.get_by_role("button", name="Approve with changes").click()
    card.get_by_role("button", name="Approve with changes — irreversible: confirm").click()  # a refund (#20)

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Approved by sue")
    changes = page.locator(f"#action-{action_id} table.diff")
    expect(changes.locator("tbody th")).to_contain_text("Amount")
    expect(changes.locator("del")).to_have_text("$750.00")
    expect(changes.locator("ins")).to_have_text("$500.00")
    seen = api.get(f"/actions/{action_id}").json()
    assert seen["final_params"] == {"customer": "cus_123", "amount": 500, "currency": "USD"}
    assert console_errors == []


def test_a_batch_of_five_with_one_decided_meanwhile(page, live_server, supervisor, second_supervisor, api):
    ids = [
        api.propose(params={"customer": f"cus_{n}", "amount": 10 + n, "currency": "USD"}, batch="refunds").json()["id"]
        for n in range(5)
    ]
    log_in(page, live_server, supervisor)
    page.get_by_label("Select all").check()
    expect(page.get_by_role("button", name="Approve 5…")).to_be_visible()
    page.get_by_role("button", name="Approve 5…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve 5 actions?")
    expect(page.locator(".batch-list li")).to_have_count(5)

    Action.objects.get(pk=ids[3]).reject(by=second_supervisor, reason="duplicate")  # while sue reads the list
    page.get_by_role("button", name="Yes, approve 5").click()

    expect(page.get_by_role("alert")).to_contain_text("Nothing was approved")
    expect(page.get_by_role("alert")).to_contain_text("Already rejected by sam")
    assert Action.objects.filter(status="approved").count() == 0
    page.get_by_role("button", name="Yes, approve the remaining 4").click()

    expect(page.locator(".messages")).to_contain_text("Approved 4 actions.")
    assert sorted(Action.objects.values_list("status", flat=True)) == ["approved"] * 4 + ["rejected"]


def test_a_supervisor_approves_by_keyboard(page, live_server, supervisor, api):
    first = api.propose(params={"customer": "cus_1", "amount": 1, "currency": "USD"}).json()["id"]
    second = api.propose(params={"customer": "cus_2", "amount": 2, "currency": "USD"}).json()["id"]
    log_in(page, live_server, supervisor)
    expect(page.locator(f"#action-{first}")).to_be_visible()

    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_contain_text("approve the card")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator(f"#action-{second}")).to_be_focused()
    page.keyboard.press("a")
    # A refund is irreversible: `a` again confirms (#20).
    expect(page.locator(f"#action-{second}").get_by_role("button", name="irreversible: confirm")).to_be_focused()
    page.keyboard.press("a")

    expect(page.locator(f"#action-{second}")).to_contain_text("Approved by sue")
    assert Action.objects.get(pk=first).status == "pending"
    page.keyboard.press("k")
    page.keyboard.press("x")
    expect(page.get_by_role("button", name="Approve 1…")).to_be_visible()


UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map(el => el.outerHTML)"""


def test_every_control_has_a_label_and_tab_reaches_approve(page, live_server, supervisor, api):
    action_id = api.propose().json()["id"]
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{action_id}")
    card.get_by_text("Reject…").click()
    assert page.evaluate(UNLABELLED) == []
    card.get_by_role("link", name="Edit…").click()
    expect(card.get_by_label("Amount")).to_be_focused()  # the edit puts the keyboard in its first field

    assert page.evaluate(UNLABELLED) == []
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Approve with changes")).to_be_focused()


def test_a_supervisor_who_may_not_review_a_type_neither_sees_nor_decides_it(page, live_server, supervisor, api):
    ActionType.objects.create(key="crm.delete_contacts", name="Delete contacts", autonomy="confirm")
    hidden = api.propose(action="crm.delete_contacts", params={"contact_ids": ["c_1"]}).json()["id"]
    visible = api.propose().json()["id"]
    log_in(page, live_server, supervisor)

    expect(page.locator(f"#action-{visible}")).to_be_visible()
    expect(page.locator(f"#action-{hidden}")).to_have_count(0)
    token = re.search(r'"x-csrftoken": "([^"]+)"', page.locator("body").get_attribute("hx-headers")).group(1)
    response = page.request.post(
        f"{live_server.url}/actions/{hidden}/approve", headers={"x-csrftoken": token, "referer": live_server.url}
    )

    assert response.status == 403
    assert Action.objects.get(pk=hidden).status == "pending"


HOSTILE = (
    '<script>alert("script")</script><img src=x onerror=alert("img")>'
    '<button hx-post="/actions/x/approve" hx-trigger="load">go</button> ![pixel](http://evil.example/p.png)'
)


def test_hostile_agent_text_stays_inert(page, live_server, supervisor, api, refund_type, console_errors):
    refund_type.editable_params = ["amount", "customer"]
    refund_type.params_schema["properties"]["customer"].pop("pattern")
    refund_type.save()
    group = Group.objects.get(name="supervisors")
    assign_perm("policies.review_actiontype", group, refund_type)
    action_id = api.propose(
        params={"customer": HOSTILE, "amount": 5, "currency": "USD"}, rationale=HOSTILE, session_id=HOSTILE
    ).json()["id"]
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, supervisor)
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    card = page.locator(f"#action-{action_id}")

    expect(card.locator(".rationale")).to_contain_text('<script>alert("script")</script>')
    expect(card.locator(".rationale")).to_contain_text("![pixel](http://evil.example/p.png)")
    card.get_by_text("Raw JSON").click()
    card.get_by_role("link", name="Edit…").click()
    expect(card.get_by_label("Customer")).to_have_value(HOSTILE)
    page.wait_for_timeout(500)

    assert card.locator("img, script, [onerror]").count() == 0
    assert page.locator("[hx-post='/actions/x/approve']").count() == 0
    assert dialogs == []
    assert [r for r in requests if "evil.example" in r or "/actions/x/" in r] == []
    assert [r for r in requests if r.startswith("POST")] == []
    assert Action.objects.get(pk=action_id).status == "pending"
    assert console_errors == []


def test_a_new_proposal_appears_without_a_reload_and_the_title_counts_it(page, live_server, supervisor, api):
    api.propose()
    log_in(page, live_server, supervisor)
    expect(page).to_have_title("Inbox (1) · Countersign")
    page.locator("article.card input.select").check()  # a selection survives the refresh

    newcomer = api.propose(params={"customer": "cus_new", "amount": 9, "currency": "EUR"}).json()["id"]

    expect(page.locator(f"#action-{newcomer}")).to_contain_text("Refund €9.00 to customer cus_new", timeout=12_000)
    expect(page).to_have_title("Inbox (2) · Countersign")
    expect(page.get_by_role("button", name="Approve 1…")).to_be_visible()
