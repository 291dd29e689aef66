"""Supervisors hold an agent or a type they review from the inbox, audited; nobody else may."""

import pytest

from audit.models import Event
from policies.models import ActionType, Agent

pytestmark = pytest.mark.django_db


def test_a_supervisor_holds_an_agent_with_a_reason_audited_and_releases_it(client, supervisor, api, pending):
    agent = pending.agent
    client.force_login(supervisor)

    assert client.post("/hold", {"target": f"agent:{agent.pk}", "reason": "", "hold": "1"}).status_code == 302
    assert Agent.objects.get(pk=agent.pk).pause == ""  # a hold needs a reason
    client.post("/hold", {"target": f"agent:{agent.pk}", "reason": "flooding the inbox", "hold": "1"})

    agent.refresh_from_db()
    assert (agent.pause, agent.pause_reason) == ("hold", "flooding the inbox")
    event = Event.objects.filter(kind="policy.changed", agent=agent.name).get()
    assert event.actor_name == "sue" and event.data["diff"]["pause"] == {"from": "", "to": "hold"}

    client.post("/hold", {"target": f"agent:{agent.pk}", "release": "1"})
    assert Agent.objects.get(pk=agent.pk).pause == ""


def test_a_supervisor_holds_a_type_they_review_but_not_one_an_admin_blocked(client, supervisor, refund_type):
    client.force_login(supervisor)

    client.post("/hold", {"target": f"type:{refund_type.pk}", "reason": "checking refunds", "hold": "1"})
    assert ActionType.objects.get(pk=refund_type.pk).pause == "hold"
    assert Event.objects.get(kind="policy.changed", action_type=refund_type.key).data["diff"]["pause"]["to"] == "hold"

    ActionType.objects.filter(pk=refund_type.pk).update(pause="block", pause_reason="incident")
    page = client.post("/hold", {"target": f"type:{refund_type.pk}", "release": "1"}, follow=True).content.decode()
    assert "only they can change its kill switch" in page
    assert ActionType.objects.get(pk=refund_type.pk).pause == "block"


def test_others_may_not_hold(client, supervisor, auditor, outsider, refund_type):
    other = ActionType.objects.create(key="other.type", name="Other", params_schema={"type": "object"})
    client.force_login(supervisor)
    client.post("/hold", {"target": f"type:{other.pk}", "reason": "not mine", "hold": "1"})
    assert ActionType.objects.get(pk=other.pk).pause == ""
    for user in (auditor, outsider):
        client.force_login(user)
        assert client.get("/hold").status_code == 403
        assert client.post("/hold", {"target": f"type:{refund_type.pk}", "reason": "x", "hold": "1"}).status_code == 403
    assert client.put("/hold").status_code == 405
