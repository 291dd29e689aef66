"""The edit form builds a field per editable parameter from the JSON Schema, and the schema has the last word."""

import pytest

from approvals.forms import ParamsForm
from approvals.models import Action
from policies.models import ActionType

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 80},
        "body": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "high"]},
        "count": {"type": "integer", "minimum": 1},
        "ratio": {"type": "number"},
        "notify": {"type": "boolean"},
        "on": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "limits": {"type": "object"},
        "fixed": {"type": "string"},
    },
}
PARAMS = {"title": "Hi", "body": "Long text", "priority": "low", "count": 2, "ratio": 0.5, "notify": False,
          "on": "2026-12-01", "to": "ana@example.com", "tags": ["a", "b"], "limits": {"max": 3}, "fixed": "x"}


@pytest.fixture
def action():
    editable = [name for name in SCHEMA["properties"] if name != "fixed"]
    action_type = ActionType(key="t.edit", name="Edit test", params_schema=SCHEMA, editable_params=editable)
    action_type.params_order = ActionType(params_schema=SCHEMA).params_order
    return Action(action_type=action_type, params=PARAMS)


def test_each_schema_type_gets_its_own_input_and_a_non_editable_one_stays_visible(action):
    form = ParamsForm(action)
    kinds = {field.name: (field.kind, field.input_type) for field in form}

    assert kinds == {"title": ("input", "text"), "body": ("input", "text"), "priority": ("select", "text"),
                     "count": ("input", "number"), "ratio": ("input", "number"), "notify": ("select", "text"),
                     "on": ("input", "date"), "to": ("input", "email"), "tags": ("array", "text"),
                     "limits": ("json", "text"), "fixed": ("readonly", "text")}
    assert [field.name for field in form][:3] == ["title", "body", "priority"]  # the schema's order


def test_typed_values_come_back_as_json_values(action):
    data = {"title": "Hello", "body": "Long text", "priority": '"high"', "count": "3", "ratio": "0.25",
            "notify": "true", "on": "2026-12-02", "to": "bo@example.com", "tags.__rows": "2", "tags.0": "x",
            "tags.1": "y", "limits": '{"max": 5}'}
    form = ParamsForm(action, data)

    assert form.is_valid(), form.errors
    assert form.final_params() == {"title": "Hello", "body": "Long text", "priority": "high", "count": 3,
                                   "ratio": 0.25, "notify": True, "on": "2026-12-02", "to": "bo@example.com",
                                   "tags": ["x", "y"], "limits": {"max": 5}, "fixed": "x"}


def test_schema_errors_land_beside_their_field_in_plain_words(action):
    form = ParamsForm(action, {"title": "x" * 81, "count": "0", "to": "not-an-email", "on": "2026-13-01"})

    assert not form.is_valid()
    assert form.errors["count"] == ["At least 1."]
    assert form.errors["title"] == ["At most 80 characters (this has 81)."]
    assert form.errors["to"] == ["Not an email address, like name@example.com."]
    assert form.errors["on"] == ["Not a date, like 2026-12-31."]


def test_a_malformed_value_is_refused_by_its_field(action):
    form = ParamsForm(action, {"limits": "{not json", "ratio": "many"})

    assert not form.is_valid()
    assert form.errors["ratio"] == ["Enter a number, like 4.5."]
    assert form.errors["limits"][0].startswith("Not valid JSON: Expecting property name")


def test_fields_the_post_does_not_mention_keep_their_proposed_values(action):
    form = ParamsForm(action, {"count": "5"})

    assert form.is_valid(), form.errors
    assert form.final_params() == {**PARAMS, "count": 5}
