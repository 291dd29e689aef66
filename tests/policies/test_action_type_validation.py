"""What an action type accepts as a policy, whoever saves it (admin or import)."""

import pytest
from django.core.exceptions import ValidationError

from policies.models import ActionType


@pytest.mark.parametrize("threshold", ["", "0", "0.7", "1", "low", "medium", "high"])
def test_a_confidence_threshold_is_a_number_from_0_to_1_or_a_word(db, threshold):
    ActionType(key="x.y", name="x", confidence_threshold=threshold).full_clean()


@pytest.mark.parametrize("threshold", ["1.5", "-0.1", "sure", "nan?"])
def test_any_other_confidence_threshold_is_refused(db, threshold):
    with pytest.raises(ValidationError, match="A number from 0 to 1, or low, medium or high"):
        ActionType(key="x.y", name="x", confidence_threshold=threshold).full_clean()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sampling_rate": 1.5}, "A share from 0 to 1"),
        ({"redact_paths": "params.card"}, "A list of paths"),
        ({"checker_url": "https://checker.example.com/"}, "needs a secret"),
        ({"pause": "block"}, "Say why"),
        ({"params_schema": {"type": 5}}, "Not a valid JSON Schema"),
        ({"summary_template": "Refund {{ amount|nosuchfilter }}"}, "Not a valid summary template"),
        ({"summary_template": "{% load i18n %}{{ x }}"}, "Not a valid summary template"),
    ],
)
def test_an_incoherent_policy_is_refused_with_the_reason(db, changes, message):
    with pytest.raises(ValidationError, match=message):
        ActionType(key="x.y", name="x", **changes).full_clean()
