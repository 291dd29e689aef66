"""The summary renderer, fuzzed: whatever the agent sends, it returns text, never raises, and
never evaluates template syntax found in the parameters."""

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.models import ActionType

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
params_strategy = st.dictionaries(st.sampled_from(["amount", "currency", "customer", "to", "x"]), json_values)

REFUND = ActionType(
    key="payments.refund",
    name="Refund",
    summary_template="Refund {{ amount|money:currency }} to {{ customer }} for {{ to|listing:'recipient' }}",
)
UNTEMPLATED = ActionType(key="files.shred", name="Shred files")


@settings(max_examples=300, deadline=None)
@given(params=params_strategy)
def test_any_parameters_render_to_text(params):
    for action_type in (REFUND, UNTEMPLATED):
        summary = action_type.render_summary(params)
        assert isinstance(summary, str)


@settings(max_examples=200, deadline=None)
@given(payload=st.sampled_from(["{{ 7|add:1 }}", "{% load static %}", "{% debug %}", "{{ request }}"]), tail=st.text())
def test_template_syntax_in_parameters_is_never_evaluated(payload, tail):
    value = payload + tail
    summary = REFUND.render_summary({"customer": value, "amount": 1, "currency": "USD"})

    assert " ".join(value.split()) in summary
    assert "8" not in summary.replace(" ".join(value.split()), "")
