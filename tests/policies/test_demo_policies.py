"""The demo's policies: seeded with rules that compile, past the first-use gate, safe to seed twice,
and calm: only what deserves a person waits for one."""

import random

from django.conf import settings
from django.core.management import call_command

from approvals.services import facts_for
from policies.demo import realistic_proposal
from policies.models import ActionType, Agent, Autonomy, Rule
from policies.routing import Proposal, Refusal, action_type_for, route
from tests.conftest import AgentApi


def test_seeding_twice_gives_the_demo_types_their_rules_once(db):
    call_command("seed_demo", stdout=None)
    call_command("seed_demo", stdout=None)

    refund = ActionType.objects.get(key="payments.refund")
    assert [rule.name for rule in refund.rules.all()] == ["large refund", "very large refund"]
    assert refund.first_use_threshold == 0
    for rule in Rule.objects.all():
        rule.full_clean()


def test_a_demo_refund_over_100_names_its_rule(db, client):
    call_command("seed_demo", stdout=None)
    api = AgentApi(client, settings.HITL_DEMO_AGENT_TOKEN)

    body = api.propose(params={"customer": "cus_1", "amount": 750, "currency": "USD"}).json()

    assert body["status"] == "pending"
    assert "rule 'large refund' matched: params.amount > 100" in body["route"]["reasons"]


def test_the_demo_policy_admin_edits_rules_and_escalation_tiers_without_being_a_superuser(db, client):
    from django.contrib.auth.models import User

    call_command("seed_demo", stdout=None)
    policy_admin = User.objects.get(username="policyadmin")
    assert not policy_admin.is_superuser
    client.force_login(policy_admin)

    page = client.get(f"/admin/policies/actiontype/{ActionType.objects.get(key='payments.refund').pk}/change/")

    assert page.status_code == 200
    assert 'name="rules-TOTAL_FORMS"' in page.content.decode()
    assert 'name="escalation_tiers-TOTAL_FORMS"' in page.content.decode()


def test_the_demo_types_escalate_to_the_leads_and_its_people_have_email(db):
    from django.contrib.auth.models import User

    call_command("seed_demo", stdout=None)
    call_command("seed_demo", stdout=None)

    for action_type in ActionType.objects.all():
        assert [tier.group.name for tier in action_type.escalation_tiers.all()] == ["leads"], action_type.key
    assert User.objects.get(username="supervisor").email == "supervisor@example.com"
    assert User.objects.get(username="lead").groups.filter(name="leads").exists()


WAITS = (Autonomy.SUGGEST, Autonomy.CONFIRM)


def demo_route(key, params, fields):
    action_type = action_type_for(key)
    agent = Agent.objects.get(name="demo-agent")
    proposal = Proposal.from_request({"params": params, **fields})
    try:
        return route(action_type, agent, proposal, facts_for(action_type, agent, proposal)).level
    except Refusal as refusal:
        raise AssertionError(f"{key} {params}: {refusal.message}") from None


def test_the_simulated_agents_mix_leaves_a_calm_inbox_and_still_asks_for_what_deserves_a_person(db):
    call_command("seed_demo", stdout=None)
    rng = random.Random(20)
    waiting, routed = [], []
    for _ in range(400):
        key, params, fields = realistic_proposal(rng)
        level = demo_route(key, params, fields)
        routed.append((key, params, level))
        if level in WAITS:
            waiting.append((key, params))

    # Before #20 every email, refund and delete waited: 8 in 17 of the mix.
    assert len(waiting) / len(routed) < 0.3, f"{len(waiting)} of {len(routed)} wait for a person"
    for key, params, level in routed:
        if key == "payments.refund":
            assert (level in WAITS) == (params["amount"] > 100), (params, level)
        if key == "crm.delete_contacts":
            assert level == Autonomy.CONFIRM
        if key == "email.send":  # the simulated agent's emails are replies on their tickets
            assert level == Autonomy.AUDIT


def test_a_demo_email_that_is_no_routine_reply_waits_for_a_person(db):
    call_command("seed_demo", stdout=None)
    reply = {"to": ["ana@example.com"], "subject": "Re: your ticket T-1", "body": "Refunded."}
    ticket = {"context": {"ticket": "T-1"}}

    assert demo_route("email.send", reply, ticket) == Autonomy.AUDIT
    assert demo_route("email.send", {**reply, "to": ["ana@example.com", "ben@example.com"]}, ticket) in WAITS
    assert demo_route("email.send", {**reply, "subject": "Our new offer"}, ticket) in WAITS
    assert demo_route("email.send", reply, {}) in WAITS
    assert demo_route("email.send", reply, {"context": {"ticket": "T-1", "untrusted": ["ticket.body"]}}) in WAITS


def test_a_small_demo_refund_runs_at_once_and_is_sampled(db, client):
    call_command("seed_demo", stdout=None)
    api = AgentApi(client, settings.HITL_DEMO_AGENT_TOKEN)

    body = api.propose(params={"customer": "cus_1", "amount": 49, "currency": "EUR"}).json()

    assert body["status"] == "approved" and body["autonomy"] == "audit"
    assert ActionType.objects.get(key="payments.refund").sampling_rate > 0
