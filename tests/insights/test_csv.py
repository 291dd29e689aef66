"""Each chart's numbers as CSV, with the page's parameters: the same numbers as the chart."""

import csv
import io

import pytest

from insights.reports import TABLES
from tests.insights.conftest import WEEK

pytestmark = pytest.mark.django_db


def as_text(value):
    return "" if value is None else str(value)


def test_every_chart_downloads_the_numbers_it_draws(client, supervisor, week):
    client.force_login(supervisor)
    page = client.get("/insights/", WEEK)
    figures = page.context["figures"]
    assert {f["name"] for f in figures} | {"recommendations"} == set(TABLES)
    for figure in figures:
        assert figure["csv_url"].endswith("?start=2026-11-01&end=2026-11-07")
        response = client.get(figure["csv_url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="insights-{figure["name"]}.csv"' in response["Content-Disposition"]
        table = figure["table"]
        expected = [table.header] + [[as_text(v) for v in row] for row in table.rows]
        assert list(csv.reader(io.StringIO(response.content.decode()))) == expected


def test_the_csv_follows_the_filters(client, supervisor, week):
    client.force_login(supervisor)
    response = client.get("/insights/verdicts.csv", {**WEEK, "action_type": "payments.refund"})
    assert response.content.decode().splitlines() == [
        "action_type,approved,edited,rejected,approved_share,edited_share,rejected_share",
        "payments.refund,1,1,1,0.3333,0.3333,0.3333",
    ]


def test_a_bad_range_is_refused_with_the_reason(client, supervisor):
    client.force_login(supervisor)
    response = client.get("/insights/volume.csv", {"start": "2026-11-07", "end": "2026-11-01"})
    assert response.status_code == 400
    assert response.content.decode() == "The start date is after the end date."
    response = client.get("/insights/volume.csv", {"agent": "nobody"})
    assert response.status_code == 400
    assert response.content.decode().startswith("agent: Select a valid choice.")


def test_text_a_spreadsheet_would_run_is_written_inert(client, supervisor, agent, db):
    from approvals.models import Decision
    from policies.models import ActionType
    from tests.insights.conftest import at, make_action

    formula = ActionType.objects.create(key="=HYPERLINK(1)", name="registered by an agent")
    action = make_action(formula, agent, at(2, 9))
    Decision.of(action, verdict="rejected", by=supervisor, by_name="sue", at=at(2, 9, 1)).save(force_insert=True)
    client.force_login(supervisor)
    lines = client.get("/insights/verdicts.csv", WEEK).content.decode().splitlines()
    assert lines[1].startswith("'=HYPERLINK(1),0,0,1")
