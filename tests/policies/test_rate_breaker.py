"""The rate breaker counts in PostgreSQL, so concurrent proposals from many threads agree."""

import threading

import pytest
from django.db import connection

from approvals.models import Action
from approvals.services import action_propose
from policies.models import ActionType
from policies.routing import Proposal
from tests.policies.conftest import TAG


def test_proposals_beyond_the_limit_go_to_a_person_for_the_rest_of_the_window(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(rate_limit=2)

    statuses = [api.propose("tickets.tag", TAG).json()["status"] for _ in range(4)]

    assert statuses == ["approved", "approved", "pending", "pending"]
    reasons = Action.objects.filter(status="pending").first().route["reasons"]
    assert any(r.startswith("rate breaker:") and "(limit 2)" in r for r in reasons)


def test_the_window_is_per_agent(api, client, tag_type):
    from policies.models import Agent
    from tests.conftest import AgentApi

    ActionType.objects.filter(pk=tag_type.pk).update(rate_limit=1)
    other = AgentApi(client, Agent.objects.create(name="other-agent").issue_token())

    mine = [api.propose("tickets.tag", TAG).json()["status"] for _ in range(2)]
    theirs = other.propose("tickets.tag", TAG).json()["status"]

    assert mine == ["approved", "pending"]
    assert theirs == "approved"


@pytest.mark.django_db(transaction=True)
def test_concurrent_proposals_trip_the_breaker_exactly_at_the_limit(agent, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(rate_limit=5)
    start = threading.Barrier(12)
    errors = []

    def propose():
        try:
            start.wait()
            action_propose(agent=agent, proposal=Proposal(action="tickets.tag", params=TAG))
        except Exception as error:  # reported below, so a failure in a thread fails the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=propose) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Action.objects.filter(status="approved").count() == 5
    assert Action.objects.filter(status="pending").count() == 7


def test_a_replayed_idempotency_key_is_not_counted_again(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(rate_limit=1)
    body = {"action": "tickets.tag", "params": TAG}

    first = api.post("/actions", body, idempotency_key="k-1").json()
    replay = api.post("/actions", body, idempotency_key="k-1").json()
    second = api.propose("tickets.tag", TAG).json()

    assert (first["status"], replay["id"]) == ("approved", first["id"])
    assert second["status"] == "pending"
    assert "rate breaker: 2 proposals" in second["route"]["reasons"][-1]
