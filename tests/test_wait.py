"""The long-poll answers as soon as a person decides: woken by PostgreSQL NOTIFY, not a sleep loop."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from approvals import waiting
from approvals.models import Action

pytestmark = pytest.mark.django_db(transaction=True)


def wait(api, path, **params):
    """`/wait` is an async view: the sync test client runs it with async_to_sync, which refuses a
    thread where an earlier test (Playwright, an SDK) left an event loop running, so call it from a
    thread of its own, closing that thread's connection after."""

    def call():
        try:
            return api.get(path, **params)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(call).result()


def approve_after(action_id, user, delay):
    def run():
        try:
            time.sleep(delay)
            Action.objects.get(pk=action_id).approve(by=user)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_waiting_agent_is_woken_by_the_decision(api, refund_type, supervisor, monkeypatch):
    # With the fallback poll made longer than the wait, only the NOTIFY can end it early.
    monkeypatch.setattr(waiting, "FALLBACK_POLL_SECONDS", 60)
    action_id = api.propose().json()["id"]
    decider = approve_after(action_id, supervisor, delay=0.5)

    started = time.monotonic()
    response = wait(api, f"/actions/{action_id}/wait", timeout=20)
    waited = time.monotonic() - started
    decider.join()

    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["decision"]["by"] == "sue"
    assert waited < 10, f"the wait lasted {waited:.1f}s: it was not woken by the decision"


def test_a_wait_with_no_decision_returns_the_current_state_at_the_timeout(api, refund_type):
    action_id = api.propose().json()["id"]

    response = wait(api, f"/actions/{action_id}/wait", timeout=0.3)

    assert response.status_code == 200
    assert response.json()["status"] == "pending"


def test_a_wait_on_a_decided_action_returns_at_once(api, refund_type, supervisor):
    action_id = api.propose().json()["id"]
    Action.objects.get(pk=action_id).approve(by=supervisor)

    response = wait(api, f"/actions/{action_id}/wait", timeout=30)

    assert response.json()["status"] == "approved"


def test_a_wait_over_sixty_seconds_is_a_400(api, refund_type):
    action_id = api.propose().json()["id"]

    response = wait(api, f"/actions/{action_id}/wait", timeout=61)

    assert response.status_code == 400
