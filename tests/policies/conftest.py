"""Actors and helpers for the policy tests."""

import pytest

from policies.models import ActionType, Rule


@pytest.fixture
def tag_type(db):
    """A reversible, low-risk type that runs on its own unless something says otherwise."""
    return ActionType.objects.create(
        key="tickets.tag",
        name="Tag a ticket",
        params_schema={
            "type": "object",
            "required": ["ticket", "tags"],
            "properties": {"ticket": {"type": "string"}, "tags": {"type": "array"}, "amount": {"type": "number"}},
        },
        summary_template="Tag ticket {{ ticket }}",
        autonomy="autonomous",
        first_use_threshold=0,
    )


def add_rule(action_type, name, expression, level="confirm", order=0):
    return Rule.objects.create(action_type=action_type, name=name, expression=expression, level=level, order=order)


TAG = {"ticket": "T-1", "tags": ["billing"]}
