"""A type registered on first use is reviewable and editable: its schema is inferred from the
first call, every parameter may be edited, and an edit the policy forbids is refused aloud."""

import pytest

from approvals.forms import ParamsForm
from approvals.models import Action
from policies.models import ActionType

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
FIRST_CALL = {"to": "ann@example.com", "retries": 3, "urgent": True, "tags": ["billing"], "meta": {"ticket": 981}}


@pytest.fixture
def draft_action(api, settings):
    settings.HITL_UNKNOWN_ACTIONS = "register"
    answer = api.propose("mail.followup", FIRST_CALL)
    assert answer.status_code == 201, answer.content
    return Action.objects.get(pk=answer.json()["id"])


@pytest.fixture
def draft_reviewer(draft_action, supervisor):
    draft_action.action_type.set_reviewer_groups(supervisor.groups.all())
    return supervisor


def test_the_first_call_gives_the_draft_an_inferred_schema(draft_action):
    action_type = ActionType.objects.get(key="mail.followup")
    assert action_type.status == ActionType.Status.DRAFT and action_type.params_schema_inferred
    assert action_type.params_schema == {
        "type": "object",
        "properties": {
            "to": {"type": "string"},
            "retries": {"type": "integer"},
            "urgent": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object", "properties": {"ticket": {"type": "integer"}}, "required": ["ticket"]},
        },
        "required": ["to", "retries", "urgent", "tags", "meta"],
    }


def test_a_later_call_of_another_shape_is_not_refused_by_the_guess(api, draft_action):
    assert api.propose("mail.followup", {"to": "bob@example.com", "retries": "many"}).status_code == 201


def test_every_parameter_of_a_draft_is_editable_with_inputs_of_its_inferred_types(draft_action):
    fields = {field.name: field for field in ParamsForm(draft_action)}
    assert {name: field.kind for name, field in fields.items()} == {
        "to": "input",
        "retries": "input",
        "urgent": "select",
        "tags": "array",
        "meta": "object",
    }
    assert fields["retries"].input_type == "number"


def test_the_edit_form_says_the_fields_are_inferred(client, draft_reviewer, draft_action):
    client.force_login(draft_reviewer)
    assert f'href="/actions/{draft_action.pk}/edit"' in client.get("/").content.decode()  # Edit… is offered
    page = client.get(f"/actions/{draft_action.pk}/edit", headers=HTMX).content.decode()
    assert "inferred from its first call" in page


def test_an_edit_of_a_draft_parameter_runs_as_edited(client, draft_reviewer, draft_action):
    client.force_login(draft_reviewer)
    answer = client.post(
        f"/actions/{draft_action.pk}/approve", {"edited": "1", "to": "carol@example.com", "retries": "1"}, headers=HTMX
    )
    assert answer.status_code == 200, answer.content.decode()
    draft_action.refresh_from_db()
    assert draft_action.status == "approved"
    assert draft_action.final_params == {**FIRST_CALL, "to": "carol@example.com", "retries": 1}


def test_an_edit_of_a_draft_parameter_is_checked_against_the_inferred_type(client, draft_reviewer, draft_action):
    client.force_login(draft_reviewer)
    answer = client.post(f"/actions/{draft_action.pk}/approve", {"edited": "1", "retries": "three"})
    assert answer.status_code == 422 and "whole number" in answer.content.decode()
    draft_action.refresh_from_db()
    assert draft_action.status == "pending"


def test_a_posted_edit_of_a_parameter_the_policy_forbids_is_refused_not_ignored(client, supervisor, pending):
    client.force_login(supervisor)
    answer = client.post(f"/actions/{pending.pk}/approve", {"edited": "1", "amount": "750", "customer": "cus_attacker"})
    assert answer.status_code == 422
    assert "“Customer” may not be edited" in answer.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.final_params is None
