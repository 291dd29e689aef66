"""For every schema of the corpus (real MCP tools and Pydantic models, tests/schemas/corpus):
with parameters generated from the schema, the card and the edit form render, show no Python
repr, and the form submitted unchanged — read back from its HTML as a browser would — gives
back the same parameters."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from approvals.forms import ParamsForm
from approvals.models import Action, params_diff
from policies.models import ActionType
from tests.schemas.strategies import values

CORPUS = sorted(Path(__file__).with_name("corpus").glob("*.json"))


def reprs(value):
    """The Python repr of every non-empty object and list inside `value`, as a page escapes it."""
    found = []
    if isinstance(value, dict):
        found += [repr(value)] if value else []
        for item in value.values():
            found += reprs(item)
    elif isinstance(value, list):
        found += [repr(value)] if value else []
        for item in value:
            found += reprs(item)
    return found


# What Python's repr of a dict or a list looks like on a page, unless the values themselves
# hold it (generated text may well contain "{'").
REPR_MARKS = ("{'", "['", "': ", "{&#x27;", "[&#x27;", "&#x27;: ")


def assert_no_repr(text, *values):
    for value in values:
        for shown in reprs(value):
            assert shown not in text and str(escape(shown)) not in text, shown
    typed = json.dumps(values, ensure_ascii=False) + str(escape(json.dumps(values, ensure_ascii=False)))
    for mark in REPR_MARKS:
        assert mark not in text or mark.replace("&#x27;", "'") in typed or mark in typed, mark


def load(path):
    return json.loads(path.read_text())


def test_the_corpus_has_at_least_twelve_schemas_each_naming_its_source():
    entries = [load(path) for path in CORPUS]
    assert len(entries) >= 12
    assert all(entry["source"] and entry["schema"].get("properties") for entry in entries)


class FormReader(HTMLParser):
    """The name/value pairs a browser would submit for a form's fields (no button pressed)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs, self._select, self._textarea, self._text = [], None, None, ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "button", "checkbox"):
            self.pairs.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select":
            self._select = [attrs.get("name"), None, None]
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select[2] is None:
                self._select[2] = value
            if "selected" in attrs:
                self._select[1] = value
        elif tag == "textarea":
            self._textarea, self._text = attrs.get("name"), ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            name, chosen, first = self._select
            self.pairs.append((name, chosen if chosen is not None else first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # As the HTML parser of a browser: one newline right after <textarea> is dropped.
            self.pairs.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def submitted(html):
    reader = FormReader()
    reader.feed(html)
    return dict(reader.pairs)


def entry_validator(entry):
    return Draft202012Validator(entry["schema"], format_checker=Draft202012Validator.FORMAT_CHECKER)


def action_for(entry, params, editable=True):
    schema = entry["schema"]
    action_type = ActionType(
        key="corpus.tool",
        name=entry["tool"],
        params_schema=schema,
        editable_params=list(schema["properties"]) if editable else [],
    )
    action_type.params_order = ActionType(params_schema=schema).params_order or _orders(schema)
    return Action(action_type=action_type, params=params)


def _orders(schema):
    from policies.schema import property_orders

    return property_orders(schema)


def no_carriage_return(value):
    """Browsers send every line break of a text area as CRLF and the form reads it back as LF, so
    a proposed "\\r" cannot survive a form; nor can NUL in HTML. Such values are left out."""
    text = json.dumps(value)
    return "\\r" not in text and "\\u0000" not in text and "\\f" not in text


@pytest.fixture(scope="module")
def request_():
    request = RequestFactory().get("/")
    request.user = type("U", (), {"pk": 0, "is_authenticated": True})()
    return request


def render_card(action, params, changed):
    """The card's parameter list and summary, and the diff table of a change to `changed`."""
    listed = render_to_string("approvals/param_list.html", {"action": action, "params": action.humanized_params()})
    summary = action.action_type.render_summary(params)
    diff = render_to_string(
        "approvals/diff_table.html",
        {"action": action, "diff": params_diff(params, changed), "caption": "Changes", "final_heading": "Final"},
    )
    return listed + summary + diff


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_card_and_edit_form_hold_up_for_generated_parameters(path, request_):
    entry = load(path)
    generated = values(entry["schema"]).filter(no_carriage_return)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(generated, generated)
    def check(params, changed):
        assert entry_validator(entry).is_valid(params), params
        action = action_for(entry, params)
        assert_no_repr(render_card(action, params, changed), params, changed)
        form = ParamsForm(action)
        html = render_to_string("approvals/edit_field_list.html", {"form": form, "action": action})
        assert_no_repr(html, params)
        back = ParamsForm(action, {"edited": "1", **submitted(html)})
        assert back.final_params() == params
        assert json.dumps(back.final_params(), sort_keys=True) == json.dumps(params, sort_keys=True)
        assert not back.errors, back.errors

    check()


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_a_type_with_nothing_editable_shows_every_parameter_read_only(path, request_):
    entry = load(path)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values(entry["schema"]).filter(no_carriage_return))
    def check(params):
        action = action_for(entry, params, editable=False)
        form = ParamsForm(action)
        assert {field.kind for field in form} <= {"readonly"}
        html = render_to_string("approvals/edit_field_list.html", {"form": form, "action": action})
        assert html.count("(not editable)") == len(params)
        assert_no_repr(html, params)
        back = ParamsForm(action, {"edited": "1", **submitted(html)})
        assert back.final_params() == params
        assert not back.errors, back.errors

    check()
