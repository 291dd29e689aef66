"""The auditor opens the audit page after a rollback of the database and the witness directory:
Chromium, at phone and desktop width, shows the chain as broken, says why ("stale"), and warns
that the witness directory is not append-only."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import ChainHead
from audit.verification import verify_chain
from tests.audit.conftest import append, superuser
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rolled_back(settings, tmp_path):
    settings.AUDIT_WITNESS_DIR = str(tmp_path / "witness")
    settings.AUDIT_HEAD_CADENCE_SECONDS, settings.AUDIT_HEAD_MARGIN_SECONDS = 300, 120
    start = timezone.now() - timedelta(minutes=45)
    for number in range(10):
        append("note.written", data={"n": number})
        verify_chain(now=start + timedelta(minutes=5 * number))
    kept = ChainHead.objects.get(number=6)
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_chainhead WHERE number > 6")
        attacker.sql("DELETE FROM audit_event WHERE seq > %s", [kept.seq])
    for number in range(7, 11):
        (tmp_path / "witness" / "00000000" / f"{number:012d}.json").unlink()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_audit_page_shows_a_rollback_as_stale_and_warns_of_the_directory(
    page, live_server, auditor, rolled_back, width
):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, auditor)

    page.goto(f"{live_server.url}/audit/")

    status = page.locator("#chain-status")
    assert "Chain BROKEN" in status.inner_text()
    assert "stale: the newest chain head (#6)" in status.inner_text()
    assert "is not append-only" in page.locator("#witness-warning").inner_text()
    if shots := os.environ.get("AUDIT_SCREENSHOTS"):
        page.screenshot(path=f"{shots}/audit-rollback-{width}.png", full_page=False)
