"""An auditor's "Verify now" on the audit page: a full verification on a Celery worker, with
its progress on the page, one at a time however many ask."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from playwright.sync_api import expect

from audit import tasks, verification
from audit.models import ChainHead, Verification
from hitl_site.celery import app
from tests.audit.conftest import append
from tests.browser.test_approve import log_in
from tests.conftest import make_user

HTMX = {"HX-Request": "true"}


@pytest.mark.django_db
def test_only_auditors_may_verify_or_watch_and_verifying_takes_a_post(client, auditor, outsider):
    assert client.post("/audit/verify").status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.post("/audit/verify").status_code == 403
    assert client.get("/audit/chain").status_code == 403
    client.force_login(auditor)
    assert client.get("/audit/verify").status_code == 405
    assert client.post("/audit/chain").status_code == 405
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_verify_now_starts_a_run_the_page_polls_until_it_ends(client, auditor):
    append("first")
    append("second")
    client.force_login(auditor)

    fragment = client.post("/audit/verify", headers=HTMX).text

    run = Verification.objects.get()
    assert (run.requested_by, run.started_at, run.finished_at) == ("audrey", None, None)
    assert "waiting for a worker" in fragment and 'hx-trigger="every 1s"' in fragment
    assert "Verify now</button>" not in fragment  # one run at a time

    tasks.verify_now(run.pk)

    fragment = client.get("/audit/chain", headers=HTMX).text
    run.refresh_from_db()
    assert run.ok is True and run.checked == 3 and run.head_number == 1  # two events and the login
    assert "all 3 events verified, signed head #1" in fragment
    assert "hx-trigger" not in fragment and "Verify now</button>" in fragment
    assert "Chain intact" in fragment


@pytest.mark.django_db
def test_a_plain_post_works_without_javascript(client, auditor):
    client.force_login(auditor)
    response = client.post("/audit/verify")
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert "waiting for a worker" in client.get("/audit/").text


@pytest.mark.django_db
def test_a_second_request_while_one_runs_joins_it(client, auditor):
    other = make_user("ada", "auditors")
    client.force_login(other)
    client.post("/audit/verify")
    client.force_login(auditor)

    fragment = client.post("/audit/verify", headers=HTMX).text

    assert Verification.objects.count() == 1
    assert "A verification asked for by ada is already running" in fragment


@pytest.mark.django_db
def test_the_page_shows_a_running_verifications_progress(client, auditor):
    Verification.objects.create(
        requested_by="ada", requested_at=timezone.now(), started_at=timezone.now(), checked=40_000, total=100_000
    )
    client.force_login(auditor)
    page = client.get("/audit/").text
    assert "Verifying every event, asked for by ada: 40000 of 100000" in page
    assert '<progress max="100000" value="40000">' in page


@pytest.mark.django_db
def test_a_verification_reports_its_progress_batch_by_batch(monkeypatch):
    for n in range(7):
        append("note.written", data={"n": n})
    monkeypatch.setattr(verification, "BATCH", 2)
    seen = []

    verification.verify_chain(full=True, progress=lambda checked, total: seen.append((checked, total)))

    assert seen == [(2, 7), (4, 7), (6, 7), (7, 7)]


@pytest.mark.django_db
def test_a_task_delivered_twice_runs_once(auditor):
    run = Verification.objects.create(requested_by="audrey", requested_at=timezone.now())
    tasks.verify_now(run.pk)
    assert tasks.verify_now(run.pk) is None
    assert ChainHead.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_verify_now_and_the_page_shows_the_outcome(client, auditor):
    for n in range(5):
        append("note.written", data={"n": n})
    client.force_login(auditor)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        client.post("/audit/verify")  # enqueued on commit, to the real broker
        deadline = time.monotonic() + 30
        while Verification.objects.get().running and time.monotonic() < deadline:
            time.sleep(0.1)

    run = Verification.objects.get()
    assert (run.ok, run.checked, run.total, run.problem) == (True, 6, 6, "")
    head = ChainHead.objects.get(number=run.head_number)
    assert head.is_authentic() and head.full and head.ok
    assert f"all 6 events verified, signed head #{head.number}" in client.get("/audit/").text


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_verify_now_in_chromium_under_the_strict_csp(page, live_server, auditor):
    append("first")
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    log_in(page, live_server, auditor)
    page.goto(f"{live_server.url}/audit/")

    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("#chain")).to_contain_text("waiting for a worker")
    tasks.verify_now(Verification.objects.get().pk)  # the worker's part, in this process

    # The fragment polls itself (htmx, no inline script) until the run has ended.
    expect(page.locator("#chain")).to_contain_text("events verified, signed head #1")
    expect(page.get_by_role("button", name="Verify now")).to_be_visible()
    assert console_errors == []
