"""Load with retries: 20 concurrent clients, 30% of proposals sent twice with the same
Idempotency-Key (half of them while the first is still in flight). Every distinct proposal is
stored exactly once, every replay gets the original, in-flight duplicates get 409, and no
request fails with a server error.

HITL_LOAD_PROPOSALS sets the number of distinct proposals (default 10,000)."""

import os
import random
import threading
import uuid
from collections import Counter

import httpx
import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType, Agent

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 20
PROPOSALS = int(os.environ.get("HITL_LOAD_PROPOSALS", "10000"))
RETRY_SHARE = 0.3


def proposal(rng, n):
    return {"action": "docs.search", "params": {"query": f"question {n}", "limit": rng.randint(1, 50)}}


def test_every_proposal_is_stored_once_whatever_the_retries(live_server, settings):
    settings.HITL_AGENT_RATE_LIMIT = (0, 60)
    ActionType.objects.create(
        key="docs.search",
        name="Search the docs",
        autonomy="autonomous",
        params_schema={"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}},
    )
    tokens = [Agent.objects.create(name=f"load-{i}").issue_token() for i in range(CLIENTS)]
    answers = Counter()
    ids_by_key = {}
    problems = []
    lock = threading.Lock()

    def note(key, response):
        with lock:
            answers[response.status_code] += 1
            if response.status_code in (200, 201):
                action_id = response.json()["id"]
                if ids_by_key.setdefault(key, action_id) != action_id:
                    problems.append(f"key {key} answered with two actions")
            elif response.status_code != 409:
                problems.append(f"{response.status_code}: {response.text[:200]}")

    def client_run(index):
        rng = random.Random(index)
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as http:
            def send(body, key):
                return http.post("/api/v1/actions", json=body, headers={"Idempotency-Key": key})

            for n in range(index, PROPOSALS, CLIENTS):
                body, key = proposal(rng, n), str(uuid.uuid4())
                roll = rng.random()
                if roll < RETRY_SHARE / 2:  # a retry while the first is in flight
                    twin = threading.Thread(target=lambda b=body, k=key: note(k, send(b, k)))
                    twin.start()
                    note(key, send(body, key))
                    twin.join()
                else:
                    note(key, send(body, key))
                    if roll < RETRY_SHARE:  # a retry after the first answered
                        replay = send(body, key)
                        note(key, replay)
                        if replay.status_code != 200:
                            with lock:
                                problems.append(f"replay of {key} answered {replay.status_code}")

    threads = [threading.Thread(target=client_run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == []
    assert not any(status >= 500 for status in answers)
    assert len(ids_by_key) == PROPOSALS
    assert Action.objects.count() == PROPOSALS
    assert Action.objects.values("idempotency_key").distinct().count() == PROPOSALS
    assert Event.objects.filter(kind="action.proposed").count() == PROPOSALS
    retried = answers[200] + answers[409]
    assert retried > PROPOSALS * RETRY_SHARE * 0.8
    print(f"\nanswers: {dict(answers)} for {PROPOSALS} distinct proposals")
