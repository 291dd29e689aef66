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
        "tags": {"type": "array", "items": {"type": "string"}},
        "limits": {"type": "object"},
        "fixed": {"type": "string"},
    },
}
PARAMS = {"title": "Hi", "body": "Long text", "priority": "low", "count": 2, "ratio": 0.5, "notify": False,
          "on": "2026-12-01", "tags": ["a", "b"], "limits": {"max": 3}, "fixed": "x"}


@pytest.fixture
def action():
    editable = [name for name in SCHEMA["properties"] if name != "fixed"]
    action_type = ActionType(key="t.edit", name="Edit test", params_schema=SCHEMA, editable_params=editable)
    return Action(action_type=action_type, params=PARAMS)


def test_each_schema_type_gets_its_own_widget(action):
    form = ParamsForm(action)
    widgets = {name: type(field.widget).__name__ for name, field in form.fields.items()}

    assert widgets == {"title": "TextInput", "body": "Textarea", "priority": "Select", "count": "NumberInput",
                       "ratio": "NumberInput", "notify": "CheckboxInput", "on": "DateInput", "tags": "Textarea",
                       "limits": "Textarea"}
    assert "fixed" not in form.fields


def test_typed_values_come_back_as_json_values(action):
    data = {"title": "Hello", "body": "Long text", "priority": "high", "count": "3", "ratio": "0.25",
            "notify": "on", "on": "2026-12-02", "tags": "x\ny\n", "limits": '{"max": 5}'}
    form = ParamsForm(action, data)

    assert form.is_valid(), form.errors
    assert form.final_params() == {"title": "Hello", "body": "Long text", "priority": "high", "count": 3,
                                   "ratio": 0.25, "notify": True, "on": "2026-12-02", "tags": ["x", "y"],
                                   "limits": {"max": 5}, "fixed": "x"}


def test_schema_errors_land_beside_their_field(action):
    data = {**{k: v for k, v in PARAMS.items() if k not in ("tags", "limits")}, "tags": "a", "limits": "{}",
            "title": "x" * 81, "count": "0"}
    form = ParamsForm(action, data)

    assert not form.is_valid()
    assert "Ensure this value is greater than or equal to 1." in form.errors["count"]
    assert any("is too long" in message for message in form.errors["title"])


def test_a_malformed_value_is_refused_by_its_field(action):
    form = ParamsForm(action, {**PARAMS, "tags": "a", "limits": "{not json", "ratio": "many"})

    assert not form.is_valid()
    assert form.errors["ratio"] == ["Enter a number."]
    assert form.errors["limits"] == ["Enter a valid JSON."]
