"""The demo's policies: seeded with rules that compile, past the first-use gate, safe to seed twice."""

from django.conf import settings
from django.core.management import call_command

from policies.models import ActionType, Rule
from tests.conftest import AgentApi


def test_seeding_twice_gives_the_demo_types_their_rules_once(db):
    call_command("seed_demo", stdout=None)
    call_command("seed_demo", stdout=None)

    refund = ActionType.objects.get(key="payments.refund")
    assert [rule.name for rule in refund.rules.all()] == ["large refund", "very large refund"]
    assert refund.first_use_threshold == 0
    for rule in Rule.objects.all():
        rule.full_clean()


def test_a_demo_refund_over_500_names_its_rule(db, client):
    call_command("seed_demo", stdout=None)
    api = AgentApi(client, settings.HITL_DEMO_AGENT_TOKEN)

    body = api.propose(params={"customer": "cus_1", "amount": 750, "currency": "USD"}).json()

    assert body["status"] == "pending"
    assert "rule 'large refund' matched: params.amount > 500" in body["route"]["reasons"]


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
