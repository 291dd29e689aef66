"""Escalation tiers are part of the policy: saving them in the admin is audited like any other
policy change, `policies export` writes them (never a webhook URL, which is a credential), and
`policies import` applies them."""

import io
from datetime import timedelta

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from guardian.shortcuts import get_groups_with_perms

from audit.models import Event
from policies.models import EscalationTier, webhook_fingerprint
from tests.policies.test_admin import change_url, form_data

SLACK = "https://hooks.slack.com/services/T000/B000/secretpart"


def export():
    out = io.StringIO()
    call_command("policies", "export", stdout=out)
    return yaml.safe_load(out.getvalue())


def import_(tmp_path, document, *flags):
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document))
    out = io.StringIO()
    call_command("policies", "import", str(path), *flags, stdout=out)
    return out.getvalue()


@pytest.fixture
def admin_client(client, policy_admin):
    client.force_login(policy_admin)
    return client


@pytest.fixture
def managers(db):
    return Group.objects.create(name="managers")


@pytest.fixture
def tiered(refund_type, managers):
    EscalationTier.objects.create(
        action_type=refund_type, position=1, group=managers, emails="ops@example.com", duration=timedelta(minutes=20)
    )
    EscalationTier.objects.create(action_type=refund_type, position=2, webhook_url=SLACK, duration=timedelta(hours=1))
    return refund_type


def tier_form(index, **fields):
    return {f"escalation_tiers-{index}-{name}": value for name, value in fields.items()}


def test_adding_a_tier_in_the_admin_is_audited_and_its_group_may_decide(admin_client, tag_type, managers):
    data = form_data(tag_type)
    data.update({"escalation_tiers-TOTAL_FORMS": "1"})
    data.update(tier_form(0, position="1", group=managers.pk, emails="ops@example.com", duration="00:15:00"))

    response = admin_client.post(change_url(tag_type), data)

    assert response.status_code == 302
    event = Event.objects.get(kind="policy.changed")
    assert event.data["diff"]["escalation_tiers"] == {
        "from": [],
        "to": [
            {
                "position": 1,
                "group": "managers",
                "emails": ["ops@example.com"],
                "duration": "00:15:00",
                "webhook": "",
                "slack_channel": "",
            }
        ],
    }
    # Not ticked as a reviewer group, but a tier's group must be able to decide what reaches it.
    assert "review_actiontype" in get_groups_with_perms(tag_type, attach_perms=True)[managers]
    assert event.data["diff"]["reviewer_groups"] == {"from": [], "to": ["managers"]}
    tag_type.refresh_from_db()
    assert tag_type.version == 2


def test_changing_a_tiers_time_in_the_admin_is_audited(admin_client, tiered):
    first, second = tiered.escalation_tiers.order_by("position")
    data = form_data(tiered, reviewer_groups=[first.group.pk])
    data.update({"escalation_tiers-TOTAL_FORMS": "2", "escalation_tiers-INITIAL_FORMS": "2"})
    data.update(
        tier_form(
            0,
            id=first.pk,
            action_type=tiered.pk,
            position="1",
            group=first.group.pk,
            emails=first.emails,
            duration="00:45:00",
        )
    )
    data.update(tier_form(1, id=second.pk, action_type=tiered.pk, position="2", webhook_url=SLACK, duration="01:00:00"))

    assert admin_client.post(change_url(tiered), data).status_code == 302

    diff = Event.objects.get(kind="policy.changed").data["diff"]
    assert list(diff) == ["escalation_tiers"]
    assert [tier["duration"] for tier in diff["escalation_tiers"]["from"]] == ["00:20:00", "01:00:00"]
    assert [tier["duration"] for tier in diff["escalation_tiers"]["to"]] == ["00:45:00", "01:00:00"]
    assert SLACK not in str(diff)


def test_the_export_has_the_tiers_but_never_a_webhook_url(tiered):
    tiers = export()["action_types"]["payments.refund"]["escalation_tiers"]

    assert tiers[0] == {
        "position": 1,
        "group": "managers",
        "emails": ["ops@example.com"],
        "duration": "00:20:00",
        "webhook": "",
        "slack_channel": "",
    }
    assert tiers[1]["webhook"] == webhook_fingerprint(SLACK)
    assert tiers[1]["webhook"].startswith("https://hooks.slack.com/… (sha256 ")
    assert "secretpart" not in yaml.safe_dump(export())


def test_importing_the_export_changes_nothing(tmp_path, tiered):
    assert import_(tmp_path, export()) == "No changes: the policies already match the document.\n"
    assert EscalationTier.objects.get(position=2).webhook_url == SLACK
    assert not Event.objects.filter(kind="policy.changed").exists()


def test_an_import_changes_adds_and_removes_tiers_and_audits_it(tmp_path, tiered, monkeypatch):
    document = export()
    tiers = document["action_types"]["payments.refund"]["escalation_tiers"]
    tiers[0]["duration"] = "00:10:00"
    monkeypatch.setenv("ONCALL_WEBHOOK", "https://chat.example.com/hooks/oncall")
    tiers[1] = {
        "position": 3,
        "emails": ["cfo@example.com"],
        "duration": "02:00:00",
        "webhook_url_env": "ONCALL_WEBHOOK",
    }

    output = import_(tmp_path, document)

    assert "Changed action type payments.refund:" in output
    assert [(t.position, t.duration, t.webhook_url) for t in tiered.escalation_tiers.order_by("position")] == [
        (1, timedelta(minutes=10), ""),
        (3, timedelta(hours=2), "https://chat.example.com/hooks/oncall"),
    ]
    event = Event.objects.get(kind="policy.changed")
    assert [t["position"] for t in event.data["diff"]["escalation_tiers"]["to"]] == [1, 3]


def test_a_webhook_that_is_not_the_current_one_needs_its_url_from_the_environment(tmp_path, tiered):
    document = export()
    tiers = document["action_types"]["payments.refund"]["escalation_tiers"]
    tiers[1]["webhook"] = "https://hooks.slack.com/… (sha256 000000000000)"
    tiers.append({"position": 1, "group": "nobody", "duration": "soon"})

    with pytest.raises(CommandError) as refused:
        import_(tmp_path, document)

    message = str(refused.value)
    assert "Nothing was applied: 4 errors." in message
    assert "action_types.payments.refund.escalation_tiers[1].webhook: not this tier's current webhook" in message
    assert "escalation_tiers[2].position: another tier has position 1" in message
    assert "escalation_tiers[2].group: no group is called 'nobody'" in message
    assert "escalation_tiers[2].duration: a duration such as 00:30:00, got 'soon'" in message
    assert EscalationTier.objects.get(position=2).webhook_url == SLACK
