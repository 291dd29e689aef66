"""The insights page in Chromium: it draws under the strict CSP, in light and dark."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from approvals.models import Action, Decision
from policies.models import ActionType
from tests.browser.test_approve import log_in
from tests.insights.conftest import append_event, at, draw_samples, make_action

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set INSIGHTS_SCREENSHOT=docs/screenshots/insights.png to refresh the README's pictures (and -dark).
SCREENSHOT = os.environ.get("INSIGHTS_SCREENSHOT")


@pytest.fixture
def busy_week(supervisor, second_supervisor, agent, refund_type, email_type):
    """A fuller week than the figures tests need, so that every chart has something to draw."""
    reviewers = [supervisor, second_supervisor]
    for day in range(1, 8):
        for i in range(6 + day % 3 * 3):
            created = at(day, 8 + i) + timedelta(minutes=7 * i)
            action = make_action(refund_type, agent, created)
            verdict = "rejected" if i % 5 == 4 else "approved"
            Decision.of(
                action,
                verdict=verdict,
                edited=i % 4 == 1,
                by=reviewers[i % 2],
                by_name=reviewers[i % 2].username,
                at=created + timedelta(seconds=40 + 37 * i * day),
                seconds_to_decide=1.2 if (i + day) % 4 == 0 else 9.0,
            ).save(force_insert=True)
            Action.objects.filter(pk=action.pk).update(status=verdict, decided_at=created + timedelta(minutes=2))
        for i in range(10 + 2 * day):
            autonomy = "autonomous" if i % 4 == 0 else "audit"
            make_action(email_type, agent, at(day, 7 + i % 12, i), autonomy=autonomy, status="approved")
        late = make_action(refund_type, agent, at(day, 18))
        append_event("action.warned", at(day, 18, 25), late)
        if day % 3 == 0:
            append_event("action.escalated", at(day, 18, 28), late)
        if day % 2:
            Action.objects.filter(pk=late.pk).update(status="expired", decided_at=at(day, 18, 31))
            append_event("action.expired", at(day, 18, 31), late)
    # Sampled emails, graded: one wrong in 120, so the page advises relaxing their sampling.
    ActionType.objects.filter(pk=email_type.pk).update(target_error_rate=0.05)
    for day in range(1, 8):
        draw_samples(email_type, agent, ["correct"] * 17 + ["incorrect"] * (day == 4) + [""] * 2, day=day)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_supervisor_reads_the_charts(page, live_server, supervisor, busy_week, email_type, scheme, tmp_path):
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": 1100, "height": 900})
    log_in(page, live_server, supervisor)
    page.goto(f"{live_server.url}/insights/?start=2026-11-01&end=2026-11-07")

    expect(page.get_by_role("heading", name="Volume by autonomy level")).to_be_visible()
    expect(page.locator("#chart-volume rect.s-audit").first).to_be_visible()
    expect(page.locator("#chart-decision-time circle.middle")).to_have_count(1)
    expect(page.locator("#chart-samples circle")).to_have_count(1)  # email.send's error rate
    expect(page.locator("#recommendations a", has_text="email.send")).to_have_attribute(
        "href", f"/admin/policies/actiontype/{email_type.pk}/change/"
    )
    # The bars take their colour from the stylesheet, which the CSP allowed to load.
    fill = page.locator("#chart-volume rect.s-confirm").first.evaluate("e => getComputedStyle(e).fill")
    assert fill not in ("", "rgb(0, 0, 0)")
    path = tmp_path / f"insights-{scheme}.png"
    if SCREENSHOT:  # the light picture where it says, the dark one beside it
        path = Path(SCREENSHOT) if scheme == "light" else Path(SCREENSHOT.replace(".png", "-dark.png"))
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert console_errors == []  # no CSP violation
