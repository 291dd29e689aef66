"""Shadow policies (#36): a candidate policy routes every real proposal beside the live one,
changes nothing, and is compared with what people then decided; promoted or discarded with one
audited click; started from the admin, the policies document or an earned-autonomy offer."""

import re
from decimal import Decimal

import httpx
import pytest
from django.core.exceptions import ValidationError

from approvals.models import Action
from audit.models import Event
from insights.shadow import shadow_report
from policies.document import InvalidDocument, export_document, import_document
from policies.models import ActionType, ShadowPolicy
from sampling.error_rates import wilson_interval
from tests.conftest import PASSWORD
from tests.policies.conftest import add_rule


@pytest.fixture
def refunds(reversible):
    """Live: small refunds run with audit, a rule sends those over 500 to a person."""
    ActionType.objects.filter(pk=reversible.pk).update(autonomy="audit")
    add_rule(reversible, "large refund", "params.amount > 500")
    return ActionType.objects.get(pk=reversible.pk)


@pytest.fixture
def candidate(refunds, policy_admin):
    """The candidate: only refunds over 2000 wait, and every euro refund does."""
    return ShadowPolicy.start(
        action_type=refunds,
        by=policy_admin,
        rules=[
            {"name": "very large refund", "expression": "params.amount > 2000", "level": "confirm"},
            {"name": "euro refund", "expression": 'params.currency == "EUR"', "level": "confirm"},
        ],
        note="Trust refunds up to 2000 in dollars",
    )


def propose(api, amount, currency="USD"):
    body = api.propose(params={"customer": "cus_1", "amount": amount, "currency": currency}).json()
    return Action.objects.select_related("action_type").get(pk=body["id"])


@pytest.fixture
def traffic(api, candidate, supervisor):
    """A stream of real proposals through the API, then what people and the agent did with them."""
    clean = propose(api, 750)
    rejected = propose(api, 900)
    edited = propose(api, 1200)
    both_hold = propose(api, 3000)
    ran_fine = propose(api, 40, "EUR")
    ran_badly = propose(api, 60, "EUR")
    both_run = propose(api, 10)
    undecided = propose(api, 800)
    clean.approve(by=supervisor)
    rejected.reject(by=supervisor, reason="Not a double charge")
    edited.approve(by=supervisor, params={**edited.params, "amount": 1000})
    both_hold.approve(by=supervisor)
    api.post(f"/actions/{ran_fine.pk}/result", {"status": "succeeded", "output": {"refund": "re_1"}})
    api.post(f"/actions/{ran_badly.pk}/result", {"status": "failed", "error": "card expired"})
    api.post(f"/actions/{both_run.pk}/result", {"status": "succeeded"})
    return {name: action for name, action in locals().items() if isinstance(action, Action)}


def test_the_candidate_routes_beside_the_live_policy_and_changes_nothing(api, candidate):
    held = propose(api, 900)
    ran = propose(api, 40, "EUR")

    # The live policy decided: the large refund waits, the small one runs.
    assert (held.status, held.autonomy) == ("pending", "confirm")
    assert (ran.status, ran.autonomy) == ("approved", "audit")
    # The candidate's route is stored beside the live one...
    assert held.route["shadow"] == {
        "policy": candidate.pk,
        "level": "audit",
        "reasons": ["policy for 'payments.refund': Act with audit"],
    }
    assert ran.route["shadow"]["level"] == "confirm"
    assert "rule 'euro refund' matched" in ran.route["shadow"]["reasons"][0]
    # ...and audited with it, but the agent's API shows the live route only.
    routed = Event.objects.get(kind="action.routed", action_id=held.pk)
    assert routed.data["shadow"]["level"] == "audit" and routed.data["level"] == "confirm"
    assert "shadow" not in api.get(f"/actions/{held.pk}").json()["route"]


def test_without_a_candidate_nothing_is_stored_beside_the_route(api, refunds):
    assert "shadow" not in propose(api, 900).route


def test_the_report_counts_what_the_candidate_would_have_done_against_what_people_decided(traffic, candidate):
    report = shadow_report(candidate)

    assert report.routed == 8
    assert report.same == 2  # 3000 USD waits under both; 10 USD runs under both
    # Four it would have let run went to a person under the live policy; three were decided,
    # one rejected and one edited: $900 + $1,200 at stake.
    assert (report.would_run_decided, report.would_run_rejected, report.would_run_edited) == (3, 1, 1)
    assert report.interval == wilson_interval(2, 3)
    assert report.money_at_stake == {"USD": Decimal("2100")}
    assert report.money_text == "$2,100.00"
    assert {e["action"].pk for e in report.would_run_examples} == {traffic["rejected"].pk, traffic["edited"].pk}
    # Two it would have held ran unattended: one fine, one failed.
    assert (report.would_hold, report.would_hold_fine, report.would_hold_bad) == (2, 1, 1)
    assert [e["action"].pk for e in report.would_hold_examples] == [traffic["ran_fine"].pk]


def test_a_graded_incorrect_sample_does_not_count_as_running_fine(traffic, candidate, sample_reviewer):
    from sampling.models import Sample

    sample = Sample.objects.create(action=traffic["ran_fine"], action_type=candidate.action_type)
    sample.grade_as(by=sample_reviewer, grade="incorrect", note="Wrong customer")

    report = shadow_report(candidate)

    assert (report.would_hold, report.would_hold_fine, report.would_hold_bad) == (2, 0, 2)


def test_the_report_page_shows_the_counts_and_examples(traffic, candidate, client, policy_admin):
    client.force_login(policy_admin)

    page = client.get(f"/insights/shadow/{candidate.pk}/").content.decode()

    assert "2</strong> of 3 that it would have let run were rejected or edited by a person: 66.7%" in page
    assert "at stake: $2,100.00" in page
    assert (
        "1</strong> of 2 it would have sent to a person ran unattended fine (1 failed or were graded incorrect)" in page
    )
    assert "Not a double charge" in page and "1200 → 1000" in page
    assert 'id="shadow-promote"' in page


def test_the_report_is_for_insights_readers_only(candidate, client, outsider):
    client.force_login(outsider)

    assert client.get(f"/insights/shadow/{candidate.pk}/").status_code == 403
    assert client.get("/insights/shadow/999999/").status_code in (403, 404)


def test_a_second_candidate_for_the_same_type_is_refused(candidate, policy_admin):
    with pytest.raises(ValidationError, match="already has a shadow policy"):
        ShadowPolicy.start(action_type=candidate.action_type, by=policy_admin, autonomy="autonomous")


def test_a_candidate_with_a_broken_rule_is_refused_and_nothing_is_saved(refunds, policy_admin):
    with pytest.raises(ValidationError, match="not a valid CEL expression"):
        ShadowPolicy.start(
            action_type=refunds,
            by=policy_admin,
            rules=[{"name": "oops", "expression": "params.amount >", "level": "confirm"}],
        )
    assert not ShadowPolicy.objects.exists()
    assert not Event.objects.filter(kind="policy.changed", data__what="shadow policy started").exists()


def test_the_admin_starts_a_candidate_from_the_live_policy(refunds, client, policy_admin):
    client.force_login(policy_admin)

    form = client.get(f"/admin/policies/shadowpolicy/add/?action_type={refunds.pk}")
    assert "params.amount &gt; 500" in form.content.decode()  # the live rules, to edit
    response = client.post(
        "/admin/policies/shadowpolicy/add/",
        {
            "action_type": refunds.pk,
            "note": "",
            "autonomy": "audit",
            "blast_radius": "low",
            "confidence_threshold": "",
            "first_use_threshold": 0,
            "rate_limit": "",
            "rules": '[{"name": "large refund", "expression": "params.amount > 5000", "level": "confirm"}]',
        },
    )

    shadow = ShadowPolicy.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/insights/shadow/{shadow.pk}/"
    started = Event.objects.get(kind="policy.changed", data__what="shadow policy started")
    assert started.actor_name == "pat"
    assert started.data["diff"]["rules"]["to"][0]["expression"] == "params.amount > 5000"
    assert "read its report" in client.get(f"/admin/policies/actiontype/{refunds.pk}/change/").content.decode()


def login(base_url, username):
    """An HTTP session on the running server, logged in through the admin's form."""
    session = httpx.Client(base_url=base_url, follow_redirects=False)
    form = session.get("/admin/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    response = session.post(
        "/admin/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.text
    return session


def post(session, path):
    return session.post(path, headers={"X-CSRFToken": session.cookies["csrftoken"]})


@pytest.mark.django_db(transaction=True)
def test_promoting_makes_the_candidate_live_with_one_audited_click(live_server, candidate, policy_admin, api):
    session = login(live_server.url, "pat")

    response = post(session, f"/admin/policies/shadowpolicy/{candidate.pk}/promote/")

    assert response.status_code == 302
    live = ActionType.objects.get(pk=candidate.action_type_id)
    assert sorted(live.rules.values_list("name", "expression")) == [
        ("euro refund", 'params.currency == "EUR"'),
        ("very large refund", "params.amount > 2000"),
    ]
    candidate.refresh_from_db()
    assert (candidate.status, candidate.ended_by) == ("promoted", policy_admin)
    [promoted] = Event.objects.filter(kind="policy.changed", data__what=f"shadow policy #{candidate.pk} promoted")
    assert promoted.actor_name == "pat" and promoted.data["version"] == live.version
    assert "rules" in promoted.data["diff"]
    # The next proposal is routed by the promoted policy, and nothing shadows it any more.
    action = propose(api, 900)
    assert action.status == "approved" and "shadow" not in action.route
    # A second click (another tab) changes nothing and says why.
    again = post(session, f"/admin/policies/shadowpolicy/{candidate.pk}/promote/")
    assert again.status_code == 302
    assert (
        Event.objects.filter(kind="policy.changed", data__what=f"shadow policy #{candidate.pk} promoted").count() == 1
    )


@pytest.mark.django_db(transaction=True)
def test_discarding_ends_the_candidate_with_one_audited_click(live_server, candidate, policy_admin):
    session = login(live_server.url, "pat")

    response = post(session, f"/admin/policies/shadowpolicy/{candidate.pk}/discard/")

    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == "discarded"
    assert ActionType.objects.get(pk=candidate.action_type_id).rules.get().name == "large refund"
    discarded = Event.objects.get(kind="policy.changed", data__what="shadow policy discarded")
    assert discarded.actor_name == "pat" and discarded.data["shadow_policy"] == candidate.pk


def test_only_a_policy_admin_promotes_and_only_by_post(candidate, client, supervisor, policy_admin):
    client.force_login(policy_admin)
    assert client.get(f"/admin/policies/shadowpolicy/{candidate.pk}/promote/").status_code == 405
    client.force_login(supervisor)
    assert client.post(f"/admin/policies/shadowpolicy/{candidate.pk}/promote/").status_code in (302, 403)
    candidate.refresh_from_db()
    assert candidate.status == "active"


def test_the_policies_document_carries_the_candidate(candidate):
    document = export_document()

    assert "shadow:" in document and "very large refund" in document
    candidate.discard(by=None)
    changes = import_document(document)
    assert changes and changes[0][0] == "shadow policy of payments.refund"
    started = ShadowPolicy.objects.active().get()
    assert started.origin == "policies document" and started.note == "Trust refunds up to 2000 in dollars"
    assert import_document(document) == []  # applying it twice changes nothing


def test_the_document_ends_a_candidate_with_null_and_refuses_a_bad_one(candidate):
    with pytest.raises(InvalidDocument) as refused:
        import_document("version: 1\naction_types:\n  payments.refund:\n    shadow: {autonomy: sometimes}\n")
    assert refused.value.errors[0].startswith("action_types.payments.refund.shadow.autonomy:")
    assert ShadowPolicy.objects.active().count() == 1

    import_document("version: 1\naction_types:\n  payments.refund:\n    shadow: null\n")

    assert not ShadowPolicy.objects.active().exists()


def test_an_earned_autonomy_offer_opens_as_a_shadow(api, reversible, supervisor, client, policy_admin):
    ActionType.objects.filter(pk=reversible.pk).update(earned_autonomy_decisions=2)
    for amount in (100, 200):
        propose(api, amount).approve(by=supervisor)
    client.force_login(policy_admin)
    page = client.get(f"/admin/policies/actiontype/{reversible.pk}/change/").content.decode()
    assert "Open it as a shadow policy" in page

    response = client.post(f"/admin/policies/shadowpolicy/from-offer/{reversible.pk}/")

    shadow = ShadowPolicy.objects.active().get()
    assert response["Location"] == f"/insights/shadow/{shadow.pk}/"
    assert (shadow.autonomy, shadow.origin) == ("audit", "earned autonomy offer")
    assert ActionType.objects.get(pk=reversible.pk).autonomy == "confirm"  # nothing changes yet
    assert propose(api, 300).route["shadow"]["level"] == "audit"
