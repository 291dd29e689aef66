"""Parameters as a reviewer reads them: money, lists, dates; a summary from the schema alone."""

from datetime import UTC, datetime

from policies.models import ActionType
from policies.summary import fallback_summary, humanize, when

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_dates_are_relative_and_absolute():
    assert when("2026-11-27", now=NOW) == "in 3 days (Fri 27 Nov 2026)"
    assert when("2026-11-24", now=NOW) == "today (Tue 24 Nov 2026)"
    assert when("2026-11-24T12:00:00Z", now=NOW) == "3 hours ago (Tue 24 Nov 2026, 12:00 UTC)"
    assert when("not a date", now=NOW) == "not a date"


def test_money_takes_its_currency_from_a_sibling_parameter():
    assert humanize("amount", 1234.5, {"type": "number"}, {"amount": 1234.5, "currency": "EUR"}) == "€1,234.50"
    assert humanize("amount", 3, {"type": "number"}, {"amount": 3}) == "3"


def test_lists_name_the_first_three_and_count_the_rest():
    text = humanize("contact_ids", ["a", "b", "c", "d", "e"], {"type": "array", "title": "Contacts"}, {})

    assert text == "5 contacts: a, b, c and 2 more"


def test_booleans_and_missing_values_read_as_words():
    assert humanize("canary", True, {"type": "boolean"}, {}) == "yes"
    assert humanize("note", None, {}, {}) == "none"


def test_without_a_template_the_schema_titles_or_the_keys_make_the_summary_never_descriptions():
    action_type = ActionType(
        key="crm.merge",
        name="Merge contacts",
        params_schema={"properties": {"keep": {"type": "string", "title": "Keep"},
                                      "drop": {"type": "array", "description": "Contacts to merge away"},
                                      "on": {"type": "string", "format": "date", "title": "On"}}},
    )

    text = fallback_summary(action_type, {"keep": "c_1", "drop": ["c_2", "c_3"], "on": "2999-01-01"})

    assert text.startswith("Merge contacts — Keep: c_1; Drop: 2 drops: c_2 and c_3; On: in ")
    assert "Contacts to merge away" not in text
    assert "On: in " in text and "(Tue 01 Jan 2999)" in text


def test_a_type_without_a_template_is_titled_by_its_first_few_parameters_each_short(db):
    from policies.models import ActionType

    draft = ActionType(key="crm.merge", name="crm.merge", params_schema={})
    params = {"into": "c_1", "from": "c_2", "a_note": "x" * 500, "dry": False, "tags": ["a"]}

    title = draft.render_summary(params)

    assert title.startswith("crm.merge — A note: xxx")  # without a schema, by name
    assert "x…; Dry: no; From: c_2 (and 2 more)" in title and len(title) < 140
