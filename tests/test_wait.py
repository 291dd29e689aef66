"""The long-poll answers as soon as a person decides: woken by PostgreSQL NOTIFY, not a sleep loop."""

import asyncio
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


def test_agents_woken_together_read_their_actions_together_each_its_own(api, refund_type, supervisor, monkeypatch):
    monkeypatch.setattr(waiting, "FALLBACK_POLL_SECONDS", 60)
    ids = [api.propose().json()["id"] for _ in range(20)]
    batches = []
    read_and_shape = waiting._read_and_shape
    monkeypatch.setattr(waiting, "_read_and_shape", lambda reads: batches.append(len(reads)) or read_and_shape(reads))

    def another_agents(action):  # what /wait's shape does with an action that is not the caller's
        raise PermissionError("not yours")

    async def park_then_decide():
        waits = [waiting.wait_until(id_, 30, done=lambda now: now.status != "pending") for id_ in ids]
        waits = [asyncio.ensure_future(wait) for wait in waits]
        stranger = asyncio.ensure_future(waiting.wait_until(ids[0], 30, done=bool, shape=another_agents))
        while sum(batches) < len(ids) + 1:  # every first read made
            await asyncio.sleep(0.02)
        parked = len(batches)
        await asyncio.to_thread(approve_all, ids, supervisor)
        return await asyncio.gather(*waits), stranger, batches[parked:]

    with ThreadPoolExecutor(1) as thread:  # an event loop of its own (see wait() above)
        woken, stranger, wake_reads = thread.submit(asyncio.run, park_then_decide()).result()

    assert [action.status for action in woken] == ["approved"] * len(ids)
    assert isinstance(stranger.exception(), PermissionError)  # its own error, nobody else's
    assert sum(wake_reads) == len(ids)
    assert len(wake_reads) < len(ids) // 2, f"{len(ids)} agents woken together read in {len(wake_reads)} queries"


def approve_all(ids, user):
    try:
        Action.approve_all(list(Action.objects.filter(pk__in=ids)), by=user)
    finally:
        connection.close()
