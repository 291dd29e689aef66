"""A policy admin previews and dry-runs an edited policy in Chromium, then saves it."""

import pytest
from playwright.sync_api import expect

from audit.models import Event
from policies.models import ActionType
from tests.conftest import PASSWORD
from tests.policies.conftest import TAG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_policy_admin_previews_dry_runs_and_saves(page, live_server, policy_admin, tag_type, api):
    for amount in (10, 900):
        api.propose("tickets.tag", {**TAG, "amount": amount})
    console_errors = []
    # The admin asks for a favicon the project does not serve; CSP violations and script errors count.
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "favicon" not in message.text
            and "Failed to load resource" not in message.text
            and console_errors.append(message.text)
        ),
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(policy_admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/policies/actiontype/{tag_type.pk}/change/")

    page.locator("#id_summary_template").fill("Tag {{ ticket }} as {{ tags|listing:'tag' }}")
    page.locator("#id_preview_params").fill('{"ticket": "T-7", "tags": ["vip"]}')
    page.get_by_role("button", name="Preview summary").click()
    expect(page.locator("#policy-preview")).to_contain_text("The reviewer would read: Tag T-7 as 1 tag: vip")

    page.locator("#id_rules-0-name").fill("large")
    page.locator("#id_rules-0-expression").fill("has(params.amount) && params.amount > 500")
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#policy-dry-run")).to_contain_text("this change would route 1 differently")
    assert ActionType.objects.get(pk=tag_type.pk).rules.count() == 0

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    saved = ActionType.objects.get(pk=tag_type.pk)
    assert saved.summary_template == "Tag {{ ticket }} as {{ tags|listing:'tag' }}"
    assert [rule.name for rule in saved.rules.all()] == ["large"]
    assert set(Event.objects.get(kind="policy.changed").data["diff"]) == {"summary_template", "rules"}
    assert console_errors == []


def test_the_change_form_fits_1280_px_with_rarely_used_sections_collapsed(page, live_server, superuser, tag_type):
    from tests.policies.conftest import add_rule

    add_rule(tag_type, "large", 'has(params.amount) && params.amount > 500 && params.currency == "USD"')
    add_rule(tag_type, "vip", '"vip" in params.tags', order=1)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(superuser.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/policies/actiontype/{tag_type.pk}/change/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing cut off at the right
    delete = page.locator("#id_rules-1-DELETE").bounding_box()
    level = page.locator("#id_rules-1-level").bounding_box()
    assert delete["x"] + delete["width"] <= 1280 and level["x"] + level["width"] <= 1280
    for closed in ("Parameters", "Sampling after the fact", "External checker", "Dry run"):
        section = page.locator("details", has=page.locator("summary", has_text=closed))
        expect(section).to_have_count(1)  # else the check below would pass on nothing
        expect(section).not_to_have_attribute("open", "")
    expect(page.locator("#id_checker_url")).not_to_be_visible()
    page.get_by_text("External checker", exact=True).click()
    expect(page.locator("#id_checker_url")).to_be_visible()
