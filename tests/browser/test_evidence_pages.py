"""The pages of #36 in Chromium, at phone and desktop width: a shadow policy's report, and an
output held for review that a person releases redacted. Each page must fit its width (no
sideways scrolling) and work by plain form posts. Screenshots go to docs/screenshots/ when
SCREENSHOTS=1."""

import os
from pathlib import Path

import pytest
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from approvals.models import Action
from approvals.models.output_review import OutputReview
from policies.models import ActionType, ShadowPolicy
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


def shoot(page, name):
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_policy_admin_reads_a_shadow_report_and_promotes_it(page, live_server, reversible, api, supervisor, width):
    from policies.models import Rule
    from tests.conftest import make_user

    admin = make_user("pat", "policy_admins", is_staff=True)
    ActionType.objects.filter(pk=reversible.pk).update(autonomy="audit")
    reversible.refresh_from_db()
    Rule.objects.create(action_type=reversible, name="large refund", expression="params.amount > 500")
    candidate = ShadowPolicy.start(
        action_type=reversible,
        by=admin,
        rules=[{"name": "very large refund", "expression": "params.amount > 2000", "level": "confirm"}],
        note="Trust refunds up to 2000",
    )
    for amount in (750, 900, 1200):
        Action.objects.get(
            pk=api.propose(params={"customer": "cus_1", "amount": amount, "currency": "USD"}).json()["id"]
        )
    first, second, third = Action.objects.order_by("created_at")
    first.approve(by=supervisor)
    second.reject(by=supervisor, reason="Not a double charge")
    third.approve(by=supervisor, params={**third.params, "amount": 1000})
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    log_in(page, live_server, admin)

    page.goto(f"{live_server.url}/insights/shadow/{candidate.pk}/")

    expect(page.locator("#shadow-would-run")).to_contain_text(
        "2 of 3 that it would have let run were rejected or edited"
    )
    expect(page.locator("#shadow-would-run")).to_contain_text("$2,100.00")
    shoot(page, f"shadow-report-{width}")
    assert fits(page)
    page.locator("#shadow-promote").click()
    expect(page.locator(".messagelist, .messages")).to_contain_text("is now payments.refund's live policy")
    assert ShadowPolicy.objects.get(pk=candidate.pk).status == "promoted"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_reviewer_releases_a_held_output_redacted(page, live_server, api, supervisor, width):
    query = ActionType.objects.create(
        key="crm.query",
        name="Query customers",
        params_schema={"type": "object"},
        summary_template="Query customers: {{ sql }}",
        autonomy="audit",
        first_use_threshold=0,
        output_review="always",
    )
    assign_perm("policies.review_actiontype", supervisor.groups.get(), query)
    action = api.propose(action="crm.query", params={"sql": "select * from customers where city = 'Oslo'"}).json()
    output = {"rows": [{"name": "Ada <b>Lovelace</b>", "email": "ada@example.com", "phone": "555-0100"}], "count": 1}
    api.post(f"/actions/{action['id']}/result", {"status": "succeeded", "output": output})
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    log_in(page, live_server, supervisor)

    page.get_by_role("link", name="Outputs").click()
    page.get_by_role("link", name="Query customers").click()

    expect(page.locator("#reported-output")).to_contain_text("Ada <b>Lovelace</b>")  # as text, not bold
    shoot(page, f"output-review-{width}")
    assert fits(page)
    page.get_by_label("rows[0].email").check()
    page.locator("#release").click()
    expect(page.locator(".messages")).to_contain_text("Output released redacted")
    assert OutputReview.objects.get().released["output"]["rows"][0]["email"] == "[redacted]"
