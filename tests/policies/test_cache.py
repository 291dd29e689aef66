"""Each process keeps the policies proposals read (policies/cache.py); a change, from anywhere,
applies from the very next proposal. A change from another PostgreSQL session stands for one
made by another web process, a worker, `policies import` or psql: this process is told nothing,
and must notice by itself."""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from policies.models import ActionType, StandingApproval
from tests.policies.conftest import TAG, add_rule
from tests.policies.test_admin import change_url, form_data


def tag(api):
    return api.propose(action="tickets.tag", params=TAG)


def elsewhere(sql, params=()):
    """Run `sql` in a session of its own and commit it, as another process would."""
    settings = connection.get_connection_params()
    keys = ("host", "port", "user", "password", "dbname")
    with psycopg.connect(**{k: v for k, v in settings.items() if k in keys}) as other:
        other.execute(sql, params)


@pytest.mark.django_db(transaction=True)
def test_a_rule_added_by_another_process_applies_to_the_next_proposal(api, tag_type):
    assert tag(api).json()["status"] == "approved"  # the type and its rules are now cached

    elsewhere(
        'INSERT INTO policies_rule (action_type_id, name, expression, level, "order") VALUES (%s, %s, %s, %s, 0)',
        [tag_type.pk, "billing tags", "'billing' in params.tags", "confirm"],
    )

    body = tag(api).json()
    assert body["status"] == "pending"
    assert "rule 'billing tags' matched: 'billing' in params.tags" in body["route"]["reasons"]


@pytest.mark.django_db(transaction=True)
def test_a_type_blocked_by_another_process_refuses_the_next_proposal(api, tag_type):
    assert tag(api).status_code == 201

    elsewhere(
        "UPDATE policies_actiontype SET pause = 'block', pause_reason = 'incident 7' WHERE id = %s", [tag_type.pk]
    )

    answer = tag(api)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "'tickets.tag' is paused: incident 7"


@pytest.mark.django_db(transaction=True)
def test_an_agent_held_by_another_process_waits_for_a_person_from_its_next_proposal(api, agent, tag_type):
    assert tag(api).json()["status"] == "approved"

    elsewhere("UPDATE policies_agent SET pause = 'hold', pause_reason = 'odd refunds' WHERE id = %s", [agent.pk])

    body = tag(api).json()
    assert body["status"] == "pending"
    assert "agent 'billing-agent' is on hold: odd refunds" in body["route"]["reasons"]


@pytest.mark.django_db(transaction=True)
def test_a_token_revoked_by_another_process_is_refused_at_once(api, agent, tag_type):
    assert tag(api).status_code == 201

    elsewhere("UPDATE policies_agenttoken SET revoked_at = now() WHERE agent_id = %s", [agent.pk])

    assert tag(api).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_standing_approval_made_by_another_process_applies_to_the_next_proposal(api, agent, tag_type):
    add_rule(tag_type, "every tag", "true")
    first = tag(api).json()
    assert first["status"] == "pending"  # and this process now knows of no standing approval

    elsewhere(
        "INSERT INTO policies_standingapproval (action_type_id, agent_id, constraints, expires_at, max_uses, uses, "
        "created_at) VALUES (%s, %s, '{}', %s, 5, 0, now())",
        [tag_type.pk, agent.pk, timezone.now() + timedelta(hours=1)],
    )

    body = tag(api).json()
    assert body["status"] == "approved"
    assert body["route"]["reasons"][0].startswith(f"standing approval #{StandingApproval.objects.get().pk} lets it")


def test_a_standing_approval_used_up_is_not_applied_though_it_was_active_when_cached(api, agent, tag_type):
    add_rule(tag_type, "every tag", "true")
    standing = StandingApproval.objects.create(
        action_type=tag_type, agent=agent, expires_at=timezone.now() + timedelta(hours=1), max_uses=1
    )

    assert tag(api).json()["route"]["reasons"][0].startswith(f"standing approval #{standing.pk} lets it")
    assert tag(api).json()["status"] == "pending"  # its one use is spent: `uses` bumps no generation


def test_an_update_in_the_same_transaction_applies_to_the_next_proposal(api, tag_type):
    """A queryset's update() sends no signal and saves no version: the trigger still sees it."""
    assert tag(api).json()["status"] == "approved"

    ActionType.objects.filter(pk=tag_type.pk).update(autonomy="suggest")

    assert tag(api).json()["status"] == "suggested"


def test_a_rule_edited_in_the_admin_applies_to_the_next_proposal(client, policy_admin, api, tag_type):
    add_rule(tag_type, "big tickets", "params.ticket == 'T-2'")
    assert tag(api).json()["status"] == "approved"

    client.force_login(policy_admin)
    edited = form_data(tag_type, **{"rules-0-expression": "params.ticket == 'T-1'"})
    assert client.post(change_url(tag_type), edited).status_code == 302

    body = tag(api).json()
    assert body["status"] == "pending"
    assert "rule 'big tickets' matched: params.ticket == 'T-1'" in body["route"]["reasons"]
