"""Output review (#36): a type may have a person read what its tool returned before the agent
gets it. The agent's report is held, its wait answers "output under review", and a reviewer
releases it, releases it redacted, or withholds it; audited; nobody in the SLA withholds it."""

import re
import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.models import Action
from approvals.models.output_review import OutputReview, withhold_overdue
from approvals.tasks import withhold_overdue_outputs
from audit.models import Event
from hitl_client import Client, OutputWithheld, gate
from policies.models import ActionType
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ROWS = {"rows": [{"name": "Ada", "email": "ada@example.com", "phone": "555-0100"}], "count": 1}


@pytest.fixture
def query_type(db, supervisor):
    """Customer queries run on their own, but a person reads every result first."""
    query = ActionType.objects.create(
        key="crm.query",
        name="Query customers",
        params_schema={"type": "object", "properties": {"sql": {"type": "string"}}},
        summary_template="Query customers: {{ sql }}",
        autonomy="audit",
        first_use_threshold=0,
        output_review="always",
    )
    assign_perm("policies.review_actiontype", supervisor.groups.get(), query)
    return query


def run_query(api, output=ROWS, status="succeeded"):
    """Propose, and report what the tool returned: (the report's answer, the action)."""
    action = api.propose(action="crm.query", params={"sql": "select * from customers"}).json()
    assert action["status"] == "approved"
    report = api.post(f"/actions/{action['id']}/result", {"status": status, "output": output})
    return report, Action.objects.get(pk=action["id"])


def test_a_reported_output_is_held_and_the_wait_says_it_is_under_review(api, query_type):
    report, action = run_query(api)

    assert report.status_code == 202
    body = report.json()
    assert body["status"] == "approved" and body["outcome"] is None
    assert body["output_review"]["status"] == "pending"
    assert body["output_review"]["message"] == "output under review"
    assert api.get(f"/actions/{action.pk}").json()["output_review"]["message"] == "output under review"
    # The log says it was held, and why, but not what was held.
    held = Event.objects.get(kind="action.output_held", action_id=action.pk)
    assert held.data["reason"] == "the policy reviews every output of this type"
    assert "ada@example.com" not in str(held.data)
    # Nothing the agent sent is lost: the review keeps the report.
    assert OutputReview.objects.get(pk=action.pk).reported["output"] == ROWS


def test_a_reviewer_releases_the_output_and_the_agent_gets_it(api, query_type, client, supervisor):
    _, action = run_query(api)
    client.force_login(supervisor)
    page = client.get(f"/outputs/{action.pk}/").content.decode()
    assert "ada@example.com" in page and 'value="rows[0].email"' in page

    response = client.post(f"/outputs/{action.pk}/release")

    assert response.status_code == 302
    answer = api.get(f"/actions/{action.pk}").json()
    assert answer["status"] == "executed"
    assert answer["outcome"]["output"] == ROWS
    assert answer["output_review"]["status"] == "released" and answer["output_review"]["by"] == "sue"
    released = Event.objects.get(kind="action.output_released", action_id=action.pk)
    assert released.actor_name == "sue" and released.data["output"] == ROWS


def test_a_reviewer_releases_it_redacted_by_fields_and_spans(api, query_type, client, supervisor):
    _, action = run_query(api)
    client.force_login(supervisor)

    client.post(f"/outputs/{action.pk}/release", {"field": ["rows[0].email"], "spans": "555-0100\n"})

    answer = api.get(f"/actions/{action.pk}").json()
    assert answer["outcome"]["output"] == {
        "rows": [{"name": "Ada", "email": "[redacted]", "phone": "[redacted]"}],
        "count": 1,
    }
    assert answer["output_review"]["status"] == "redacted"
    assert answer["output_review"]["redacted"] == {"fields": ["rows[0].email"], "spans_redacted": 1}
    event = Event.objects.get(kind="action.output_redacted", action_id=action.pk)
    assert "ada@example.com" not in str(event.data) and "555-0100" not in str(event.data)


def test_a_field_that_is_not_in_the_output_is_refused_and_nothing_is_released(api, query_type, client, supervisor):
    _, action = run_query(api)
    client.force_login(supervisor)

    client.post(f"/outputs/{action.pk}/release", {"field": ["rows[7].ssn"]})

    assert OutputReview.objects.get(pk=action.pk).status == "pending"
    assert not Event.objects.filter(kind__startswith="action.output_re", action_id=action.pk).exists()


def test_a_reviewer_withholds_it_and_the_agent_is_told_why(api, query_type, client, supervisor):
    _, action = run_query(api)
    client.force_login(supervisor)

    client.post(f"/outputs/{action.pk}/withhold", {"note": "It lists every customer"})

    answer = api.get(f"/actions/{action.pk}").json()
    assert answer["outcome"]["output"] is None
    assert answer["outcome"]["error"] == "The output was withheld by a reviewer: It lists every customer"
    assert answer["output_review"] | {"at": None} == {
        "status": "withheld",
        "reason": "the policy reviews every output of this type",
        "by": "sue",
        "at": None,
        "note": "It lists every customer",
    }
    assert Event.objects.get(kind="action.output_withheld", action_id=action.pk).data["reason"] == (
        "It lists every customer"
    )


def test_withholding_needs_a_reason(api, query_type, client, supervisor):
    _, action = run_query(api)
    client.force_login(supervisor)

    client.post(f"/outputs/{action.pk}/withhold", {"note": " "})

    assert OutputReview.objects.get(pk=action.pk).status == "pending"


def test_nobody_reviewing_within_the_sla_withholds_it(api, query_type):
    _, action = run_query(api)
    OutputReview.objects.filter(pk=action.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    assert withhold_overdue_outputs() == {"withheld": 1}

    review = OutputReview.objects.get(pk=action.pk)
    assert (review.status, review.decided_by_name) == ("withheld", "sla-timeout")
    assert (
        "nobody reviewed the output within its SLA (30 min)"
        in api.get(f"/actions/{action.pk}").json()["outcome"]["error"]
    )
    assert Event.objects.get(kind="action.output_withheld", action_id=action.pk).actor_kind == "system"
    assert withhold_overdue() == 0  # once


def test_a_second_reviewer_gets_a_conflict_not_a_second_decision(
    api, query_type, client, supervisor, second_supervisor
):
    _, action = run_query(api)
    review = OutputReview.objects.get(pk=action.pk)
    review.release(by=supervisor)
    client.force_login(second_supervisor)

    response = client.post(f"/outputs/{action.pk}/withhold", {"note": "too late"}, follow=True)

    assert "Already released by sue" in response.content.decode()
    assert Event.objects.filter(kind__startswith="action.output_", action_id=action.pk).count() == 2  # held, released


def test_the_same_report_again_is_harmless_and_another_one_is_a_conflict(api, query_type):
    report, action = run_query(api)

    again = api.post(f"/actions/{action.pk}/result", {"status": "succeeded", "output": ROWS})
    other = api.post(f"/actions/{action.pk}/result", {"status": "succeeded", "output": {"rows": []}})

    assert again.status_code == 202 and other.status_code == 409
    assert OutputReview.objects.count() == 1


def test_only_the_types_reviewers_see_or_decide_its_outputs(api, query_type, client, outsider):
    _, action = run_query(api)
    client.force_login(outsider)

    assert "No output is waiting for you" in client.get("/outputs/").content.decode()
    assert client.get(f"/outputs/{action.pk}/").status_code == 403
    assert client.post(f"/outputs/{action.pk}/release").status_code == 403
    assert client.get(f"/outputs/{action.pk}/release").status_code == 405
    assert OutputReview.objects.get(pk=action.pk).status == "pending"


def test_the_output_is_shown_as_text_never_as_html(api, query_type, client, supervisor):
    _, action = run_query(api, output={"note": "<script>alert(1)</script>"})
    client.force_login(supervisor)

    page = client.get(f"/outputs/{action.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("output", "held"),
    [
        ({"rows": [], "count": 0}, False),
        ({"rows": [{"ssn": "123-45-6789"}], "count": 1}, True),  # a pattern in the text
        ({"blob": "x" * 500}, True),  # too large to pass unread
    ],
)
def test_a_rule_over_the_output_decides_whether_it_is_held(api, query_type, output, held):
    ActionType.objects.filter(pk=query_type.pk).update(
        output_review="rule", output_review_rule='size > 400 || text.matches("[0-9]{3}-[0-9]{2}-[0-9]{4}")'
    )

    report, action = run_query(api, output=output)

    assert report.status_code == (202 if held else 200)
    assert report.json()["status"] == ("approved" if held else "executed")


def test_a_rule_that_cannot_be_evaluated_holds_the_output(api, query_type):
    ActionType.objects.filter(pk=query_type.pk).update(
        output_review="rule", output_review_rule="output.rows.size() > 2"
    )

    report, action = run_query(api, output={"note": "no rows here"})

    assert report.status_code == 202
    assert "could not be evaluated" in report.json()["output_review"]["reason"]


def test_an_invalid_rule_is_refused_when_the_policy_is_saved(query_type):
    from django.core.exceptions import ValidationError

    query_type.output_review, query_type.output_review_rule = "rule", "size >"

    with pytest.raises(ValidationError, match="output_review_rule"):
        query_type.full_clean()


@pytest.mark.django_db(transaction=True)
def test_an_agent_waits_for_the_release_through_the_running_server(asgi_url, token, query_type, supervisor):
    """From outside: the agent with hitl_client, the reviewer with a browser's session."""
    with Client(asgi_url, token) as agent:
        action = agent.propose("crm.query", {"sql": "select email from customers"})
        held = agent.report(action["id"], succeeded=True, output=ROWS)
        assert held["output_review"]["status"] == "pending"
        # The agent's wait answers "output under review" until a person decides.
        still = httpx.get(f"{asgi_url}/api/v1/actions/{action['id']}/wait?timeout=0.2", headers=agent.headers).json()
        assert (still["status"], still["output_review"]["message"]) == ("approved", "output under review")
        answers = []
        waiting = threading.Thread(target=lambda: answers.append(agent.wait(action["id"], timeout=20, poll=10)))
        waiting.start()

        reviewer = httpx.Client(base_url=asgi_url)
        form = reviewer.get("/accounts/login/").text
        token_field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        reviewer.post(
            "/accounts/login/", data={"username": "sue", "password": PASSWORD, "csrfmiddlewaretoken": token_field}
        )
        response = reviewer.post(
            f"/outputs/{action['id']}/release",
            data={"field": "rows[0].phone"},
            headers={"X-CSRFToken": reviewer.cookies["csrftoken"]},
        )
        assert response.status_code == 302
        waiting.join(timeout=25)

    [answer] = answers
    assert answer["status"] == "executed"
    assert answer["outcome"]["output"]["rows"][0]["phone"] == "[redacted]"
    # Audited with the change, through the server's own transaction.
    assert Event.objects.filter(kind="action.output_redacted", action_id=action["id"], actor_name="sue").count() == 1


def review_when_held(decide_output):
    """A reviewer in another thread who decides the first output held for review."""

    def run():
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                review = OutputReview.objects.filter(status="pending").first()
                if review is not None:
                    return decide_output(review)
                time.sleep(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_the_gate_returns_what_the_reviewer_released(asgi_url, token, query_type, supervisor):
    @gate("crm.query", client=Client(asgi_url, token))
    def query(sql):
        return ROWS

    reviewer = review_when_held(lambda review: review.release(by=supervisor, fields=["rows[0].email"]))
    rows = query(sql="select * from customers")
    reviewer.join()

    assert rows["rows"][0]["email"] == "[redacted]" and rows["rows"][0]["name"] == "Ada"


@pytest.mark.django_db(transaction=True)
def test_the_gate_raises_when_the_output_is_withheld(asgi_url, token, query_type, supervisor):
    @gate("crm.query", client=Client(asgi_url, token))
    def query(sql):
        return "every customer"

    reviewer = review_when_held(lambda review: review.withhold(by=supervisor, note="Too much at once"))
    with pytest.raises(OutputWithheld, match="withheld by sue: Too much at once"):
        query(sql="select * from customers")
    reviewer.join()
