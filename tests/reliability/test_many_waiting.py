"""Waiting costs nothing: 200 agents parked on `/wait` at once against a real ASGI server, and the
inbox, `/healthz` and a new proposal still answer while they wait; then every one is woken by
its decision."""

import asyncio

import httpx
import pytest
from django.test import Client

from approvals import waiting
from approvals.models import Action
from policies.models import Agent

pytestmark = pytest.mark.django_db(transaction=True)

AGENTS = 200
PROPOSAL = {"action": "payments.refund", "params": {"customer": "cus_123", "amount": 5, "currency": "USD"}}


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def until(condition):
    while not condition():
        await asyncio.sleep(0.05)


def test_200_waiting_agents_leave_the_inbox_healthz_and_proposals_answering(asgi_url, refund_type, supervisor):
    agents = [Agent.objects.create(name=f"fleet-{n}") for n in range(AGENTS)]
    tokens = [agent.issue_token(label="tests") for agent in agents]
    cookie = session_cookie(supervisor)

    async def run():
        limits = httpx.Limits(max_connections=AGENTS + 10)
        async with httpx.AsyncClient(base_url=asgi_url, timeout=90, limits=limits) as http:
            ids = []
            for token in tokens:
                answer = await http.post("/api/v1/actions", json=PROPOSAL, headers=bearer(token))
                assert answer.status_code == 201, answer.text
                ids.append(answer.json()["id"])
            waits = [
                asyncio.ensure_future(http.get(f"/api/v1/actions/{id_}/wait?timeout=60", headers=bearer(token)))
                for id_, token in zip(ids, tokens, strict=True)
            ]
            await asyncio.wait_for(until(lambda: waiting.listener.waiting() >= AGENTS), 60)

            healthz = await http.get("/healthz")
            inbox = await http.get("/", headers={"Cookie": f"sessionid={cookie}"})
            proposal = await http.post("/api/v1/actions", json=PROPOSAL, headers=bearer(tokens[0]))
            still_parked = [wait.done() for wait in waits]

            await asyncio.to_thread(approve_all, ids, supervisor)
            answers = await asyncio.gather(*waits)
            return healthz, inbox, proposal, still_parked, answers

    healthz, inbox, proposal, still_parked, answers = asyncio.run(run())

    assert healthz.status_code == 200
    assert inbox.status_code == 200 and "Refund" in inbox.text
    assert proposal.status_code == 201
    assert not any(still_parked), "a /wait answered before its decision"
    assert [answer.status_code for answer in answers] == [200] * AGENTS
    assert {answer.json()["status"] for answer in answers} == {"approved"}


def approve_all(ids, user):
    from django.db import connection

    try:
        for action in Action.objects.filter(pk__in=ids):
            action.approve(by=user)
    finally:
        connection.close()
