"""Fixtures for the inbox: pending actions as an agent proposes them, and volume for query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Action
from policies.models import ActionType


@pytest.fixture
def deploy_type(db, supervisor):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    action_type = ActionType.objects.create(
        key="deploy.production",
        name="Deploy to production",
        autonomy="suggest",
        blast_radius="high",
        editable_params=["version"],
        summary_template="Deploy {{ service }} version {{ version }} to production",
        params_schema={
            "type": "object",
            "properties": {"service": {"type": "string"}, "version": {"type": "string"}},
        },
    )
    assign_perm("policies.review_actiontype", Group.objects.get(name="supervisors"), action_type)
    return action_type


@pytest.fixture
def suggestion(api, deploy_type):
    return Action.objects.get(
        pk=api.propose(action="deploy.production", params={"service": "web", "version": "1.2.3"}).json()["id"]
    )


def pending_actions(agent, action_type, count, *, batch="", session_id="", minutes=30, policy_version=1, **fields):
    """`count` pending refunds stored directly: volume for query counts and benchmarks."""
    now = timezone.now()
    return Action.objects.bulk_create(
        Action(
            agent=agent,
            action_type=action_type,
            policy_version=policy_version,
            status=Action.Status.PENDING,
            autonomy="confirm",
            params={"customer": f"cus_{n}", "amount": 10 + n, "currency": "USD"},
            summary=f"Refund ${10 + n}.00 to customer cus_{n}",
            route={"reasons": ["policy for 'payments.refund': Confirm before act"], "checkers": []},
            batch=batch,
            session_id=session_id,
            created_at=now,
            due_at=now + timedelta(minutes=minutes + n),
            **fields,
        )
        for n in range(count)
    )
