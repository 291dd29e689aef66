"""Screenshots for the README: the inbox, the edit flow, the batch confirmation (light, dark, phone).

They rewrite files under docs/screenshots/, so they run only when asked:
    make test PYTEST_ARGS="tests/browser/test_screenshots.py" SCREENSHOTS=1
"""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from approvals.models import Action
from policies.demo import ACTION_TYPES
from policies.models import ActionType
from tests.browser.test_approve import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="writes docs/screenshots/; set SCREENSHOTS=1"),
]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def demo_inbox(supervisor, api):
    group = Group.objects.get(name="supervisors")
    for spec in ACTION_TYPES:
        action_type, _ = ActionType.objects.update_or_create(key=spec["key"], defaults=spec)
        assign_perm("policies.review_actiontype", group, action_type)
    refund = api.propose(
        params={"customer": "cus_8841", "amount": 750, "currency": "EUR", "order": "981"},
        session_id="run-42", confidence=0.42, model="gpt-5.1",
        rationale="The customer says order 981 was charged twice; the payment log shows two captures.",
        context={"ticket": "T-981", "untrusted": ["ticket.body"]},
    ).json()["id"]
    for n, contact in enumerate(["c_101", "c_102", "c_103", "c_104", "c_105"]):
        api.propose(action="crm.delete_contacts", params={"contact_ids": [contact], "reason": "GDPR erasure"},
                    batch="gdpr-erasures-nov", rationale=f"Erasure request #{n + 1} verified by email.")
    email = api.propose(
        action="email.send",
        params={"to": ["ana@example.com", "bo@example.com", "cy@example.com", "di@example.com", "ed@example.com"],
                "subject": "Your refund is on its way", "body": "Hello, we have refunded your order."},
        session_id="run-43", rationale="Tell the customers in thread T-981 about the refund.",
    ).json()["id"]
    Action.objects.filter(pk=email).update(route={
        "reasons": ["checker 'tone' failed: mentions an amount that is not in the ticket"],
        "checkers": [{"name": "schema", "verdict": "pass"},
                     {"name": "tone", "verdict": "fail", "reason": "mentions an amount that is not in the ticket"}]})
    api.propose(action="deploy.production", params={"service": "billing", "version": "2.14.0", "canary": True},
                session_id="release-7", rationale="All checks passed on staging.")
    return {"refund": refund}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_the_inbox(page, live_server, supervisor, demo_inbox, scheme):
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": 1200, "height": 900})
    log_in(page, live_server, supervisor)
    expect(page.locator("article.card").first).to_be_visible()
    page.screenshot(path=SHOTS / f"inbox-{scheme}.png", full_page=True)


def test_screenshot_the_edit_flow(page, live_server, supervisor, demo_inbox):
    page.set_viewport_size({"width": 1200, "height": 900})
    log_in(page, live_server, supervisor)
    card = page.locator(f"#action-{demo_inbox['refund']}")
    card.get_by_role("link", name="Edit…").click()
    card.get_by_label("Amount").fill("500")
    card.get_by_label("Amount").press("Tab")
    expect(card.locator("table.diff")).to_be_visible()
    card.screenshot(path=SHOTS / "edit.png")


def test_screenshot_the_batch_confirmation(page, live_server, supervisor, demo_inbox):
    page.set_viewport_size({"width": 1200, "height": 800})
    log_in(page, live_server, supervisor)
    page.get_by_role("link", name="Approve these 5…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve 5 actions?")
    page.screenshot(path=SHOTS / "batch.png", full_page=True)


def test_screenshot_the_inbox_on_a_phone(page, live_server, supervisor, demo_inbox):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, supervisor)
    expect(page.locator("article.card").first).to_be_visible()
    page.screenshot(path=SHOTS / "inbox-phone.png")
