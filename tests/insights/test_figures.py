"""The figures on /insights/ from a known week: exact values, and a bounded number of queries."""

from datetime import timedelta

import pytest

from approvals.models import Action, Decision
from policies.models import ActionType, Agent
from sampling.models import Sample
from tests.insights.conftest import WEEK, at, decide, draw_samples, make_action

pytestmark = pytest.mark.django_db


def figure(response, name):
    return next(f for f in response.context["figures"] if f["name"] == name)


def rows(response, name):
    return figure(response, name)["table"].rows


@pytest.fixture
def page(client, supervisor, week):
    client.force_login(supervisor)

    def get(**params):
        return client.get("/insights/", {**WEEK, **params})

    return get


def test_volume_is_counted_per_day_and_autonomy_level(page):
    response = page()
    assert response.status_code == 200
    table = figure(response, "volume")["table"]
    assert table.header == ["period", "suggest", "confirm", "audit", "autonomous", "total"]
    assert [row[1:] for row in table.rows] == [
        [0, 0, 0, 0, 0],  # Nov 1
        [0, 2, 1, 0, 3],
        [0, 2, 0, 0, 2],
        [0, 1, 0, 0, 1],
        [0, 0, 2, 0, 2],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],  # Nov 7, the end date counts
    ]
    assert table.rows[0][0] == "2026-11-01T00:00:00+00:00"


def test_a_single_day_is_drawn_by_the_hour(page):
    table = figure(page(start="2026-11-02", end="2026-11-02"), "volume")["table"]
    assert len(table.rows) == 24
    assert table.rows[10][1:] == [0, 1, 1, 0, 2]
    assert table.rows[11][1:] == [0, 1, 0, 0, 1]


def test_the_share_that_reached_a_person(page):
    response = page()
    assert (response.context["human"], response.context["total"]) == (5, 8)
    assert "<strong>62%</strong> reached a person" in response.content.decode()  # 5 of 8 = 62.5%


def test_time_to_decision_is_the_median_and_90th_percentile(page):
    # 60, 120 and 300 seconds: percentile_cont interpolates 120 + 0.8 × 180 for the 90th.
    assert rows(page(), "decision-time") == [["payments.refund", 3, 120.0, 264.0]]


def test_sla_warnings_escalations_breaches_and_expiries(page):
    assert rows(page(), "sla") == [
        ["email.send", 0, 0, 0, 0],
        ["payments.refund", 1, 1, 2, 1],  # breached: the expired one and the one still waiting
    ]


def test_approve_edit_reject_rates(page):
    assert rows(page(), "verdicts") == [["payments.refund", 1, 1, 1, 0.3333, 0.3333, 0.3333]]


def test_rubber_stamping_counts_decisions_faster_than_reading_by_reviewer(page):
    assert rows(page(), "rubber-stamps") == [
        ["sam", 1, 1, 1, 1.0],  # 0.5 s
        ["sue", 2, 2, 1, 0.5],  # 1 s and 5 s
    ]


def test_the_page_warns_about_reviewers_who_decide_faster_than_reading(page):
    text = page().content.decode()
    assert "sam decided 1 of 1 timed cards (100%) in under 2 s: too fast to have read them." in text
    assert "sue decided 1 of 2 timed cards (50%) in under 2 s" in text


def test_the_rubber_stamp_threshold_is_a_setting(page, settings):
    settings.HITL_RUBBER_STAMP_SECONDS = 6
    assert rows(page(), "rubber-stamps")[1] == ["sue", 2, 2, 2, 1.0]


def test_filtering_by_agent_and_action_type(page, agent, email_type):
    response = page(action_type="email.send", agent=agent.name)
    assert (response.context["human"], response.context["total"]) == (0, 3)
    assert rows(response, "decision-time") == []


def test_decisions_count_for_the_agent_and_the_window_of_their_proposal(page, refund_type, agent, supervisor):
    other = Agent.objects.create(name="support-agent")
    decide(make_action(refund_type, other, at(3, 9)), supervisor, after=30, verdict="rejected")
    decide(make_action(refund_type, agent, at(8, 0, 1)), supervisor, after=30)  # proposed after the week
    decide(make_action(refund_type, agent, at(7, 23, 50)), supervisor, after=3600)  # decided after it
    assert rows(page(agent=agent.name), "verdicts") == [["payments.refund", 2, 1, 1, 0.5, 0.25, 0.25]]
    assert rows(page(), "verdicts") == [["payments.refund", 2, 1, 2, 0.4, 0.2, 0.4]]
    assert rows(page(agent=other.name), "rubber-stamps") == [["sue", 1, 0, 0, None]]


def test_an_unknown_agent_or_a_backwards_range_is_a_clear_error(page):
    response = page(agent="nobody")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = page(start="2026-11-07", end="2026-11-01")
    assert response.status_code == 400
    assert "The start date is after the end date." in response.content.decode()


def test_sample_error_rates_say_no_samples_yet_until_samples_are_wired(page):
    response = page()
    assert rows(response, "samples") == []
    assert "No samples yet." in response.content.decode()


def test_sample_error_rates_read_the_samples_drawn_in_the_window(page, refund_type, agent):
    drawn = [make_action(refund_type, agent, at(6, 8) + timedelta(seconds=i), autonomy="audit") for i in range(5)]
    for action, grade in zip(drawn, ["correct", "correct", "incorrect", "unsure", ""], strict=True):
        Sample.objects.create(action=action, action_type=refund_type, drawn_at=at(6, 9), grade=grade)
    Sample.objects.create(
        action=make_action(refund_type, agent, at(9, 8), autonomy="audit"), action_type=refund_type, drawn_at=at(9, 9)
    )

    row = rows(page(), "samples")[0]

    # Five drawn in the week (one outside it); "unsure" and ungraded say nothing about the rate.
    assert row[:5] == ["payments.refund", 5, 3, 1, 0.3333]
    assert row[-1] == "tighten"  # 1 of 3: the interval sits above the default 2% target


def test_sample_error_rates_show_the_wilson_interval_against_the_target(page, agent, refund_type, email_type):
    crm_type = ActionType.objects.create(key="crm.update", name="Update a CRM record", autonomy="audit")
    ActionType.objects.update(target_error_rate=0.05)
    draw_samples(email_type, agent, ["correct"] * 100 + [""] * 20)
    draw_samples(refund_type, agent, ["correct"] * 30 + ["incorrect"] * 10)
    draw_samples(crm_type, agent, ["", "", "unsure"])

    response = page()

    assert rows(response, "samples") == [
        ["crm.update", 3, 0, 0, None, None, None, 0.05, "not enough data yet"],
        ["email.send", 120, 100, 0, 0.0, 0.0, 0.037, 0.05, "relax"],
        ["payments.refund", 40, 40, 10, 0.25, 0.1419, 0.4019, 0.05, "tighten"],
    ]
    advice = response.context["recommendations"]
    assert [(key, text.split(":")[0]) for key, text, _, _ in advice] == [
        ("email.send", "relax"),
        ("payments.refund", "tighten"),
    ]
    assert advice[1][3].startswith("/admin/policies/actiontype/")
    assert "0.0%–3.7% is below the target 5.0%" in response.content.decode()


def test_a_type_approved_as_proposed_almost_always_is_recommended_for_audit(page, refund_type, agent, supervisor):
    many = [make_action(refund_type, agent, at(6, 8) + timedelta(seconds=i)) for i in range(100)]
    Decision.objects.bulk_create(
        Decision.of(a, verdict="approved", by=supervisor, by_name="sue", at=at(6, 9)) for a in many
    )
    Action.objects.filter(pk__in=[a.pk for a in many]).update(status="approved")
    # 101 approved as proposed of 103 decisions (one edit, one rejection) = 98.06%.
    advice = page().context["recommendations"]
    assert [(key, text) for key, text, _, _ in advice] == [("payments.refund", "consider `audit` with sampling")]
    assert advice[0][2] == "101 of 103 decisions approved as proposed"


def test_below_a_hundred_decisions_nothing_is_recommended(page):
    assert page().context["recommendations"] == []


@pytest.mark.parametrize("params", [{"start": "2026-11-02", "end": "2026-11-02"}, {"start": "2025-11-08"}])
def test_the_page_runs_the_same_queries_whatever_the_range(page, params, django_assert_num_queries):
    # Session, user, groups; actions, samples, decisions, type keys, events, reviewers; the
    # navigation's groups; the agent and type choices; the types at confirm and their latest
    # decisions by a person (earned autonomy).
    with django_assert_num_queries(14):
        assert page(**params).status_code == 200


def test_an_error_rate_reads_the_same_on_insights_the_admin_and_the_sample_page(
    page, client, refund_type, agent, superuser, sample_reviewer
):
    # 2 of 3 incorrect: the upper bound is 0.938508…, which rounded to 4 places first read 93.8%.
    draw_samples(refund_type, agent, ["correct", "incorrect", "incorrect"])
    shown = "66.7% (20.8%–93.9%)"

    assert f"{shown}, target 2.0%" in page().content.decode()
    client.force_login(superuser)
    assert f"{shown}, 3 graded" in client.get("/admin/policies/actiontype/").content.decode()
    client.force_login(sample_reviewer)
    assert shown in client.get("/samples/").content.decode()
