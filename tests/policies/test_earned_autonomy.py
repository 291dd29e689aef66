"""Earned autonomy (#20): a type at confirm whose latest N decisions by a person, within its
window, were all approvals without an edit is offered as "could move to act-with-audit", with
the dry run of that change: how many proposals would have run unreviewed, and the money in them."""

import io
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone

from approvals.models import Action
from policies.earned_autonomy import offer_for
from tests.policies.conftest import add_rule
from tests.policies.test_admin import change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunds(refund_type):
    """Refunds at confirm that offer act-with-audit after three clean approvals (in 30 days)."""
    refund_type.earned_autonomy_decisions = 3
    refund_type.save()
    add_rule(refund_type, "huge refund", "params.amount > 5000")
    return refund_type


def propose(api, amount, currency="USD"):
    body = api.propose(params={"customer": "cus_1", "amount": amount, "currency": currency}).json()
    return Action.objects.get(pk=body["id"])


def approve(action, by, **edits):
    action.approve(by=by, params={**action.params, **edits} if edits else None)


@pytest.fixture
def three_clean_approvals(api, refunds, supervisor):
    for amount, currency in [(750, "USD"), (20, "EUR"), (30.5, "EUR")]:
        approve(propose(api, amount, currency), supervisor)
    propose(api, 100, "USD")  # still pending: a proposal like the others, never decided
    propose(api, 9000, "USD")  # a rule would still send it to a person


def test_a_type_whose_last_n_decisions_were_clean_approvals_is_offered_with_the_dry_run(three_clean_approvals, refunds):
    offer = offer_for(refunds)

    assert offer is not None and offer.approvals == 3
    run = offer.dry_run
    assert (run.total, run.let_through) == (5, 4)
    assert run.money_text() == "$850.00 and €50.50"
    assert "would still wait for a person" in offer.why()


def test_the_policy_admin_sees_the_offer_on_the_types_page(three_clean_approvals, refunds, client, policy_admin):
    client.force_login(policy_admin)

    page = client.get(change_url(refunds)).content.decode()

    assert "Could move to act-with-audit" in page
    assert "The last 3 decisions by a person" in page
    assert "4 would have run unreviewed" in page and "$850.00 and €50.50" in page
    assert "1 would still wait for a person" in page


def test_insights_speaks_from_n_decisions_not_a_hundred(three_clean_approvals, refunds, client, supervisor):
    client.force_login(supervisor)

    advice = client.get("/insights/").context["recommendations"]

    [(key, text, why, url)] = advice
    assert (key, text) == ("payments.refund", "could move to act-with-audit")
    assert "the last 3 decisions by a person within 30 days" in why
    assert "let 4 run unreviewed ($850.00 and €50.50)" in why
    assert url == change_url(refunds)


def test_one_edit_among_the_last_n_withdraws_the_offer(api, refunds, supervisor):
    approve(propose(api, 750), supervisor)
    approve(propose(api, 750), supervisor, amount=500)
    approve(propose(api, 750), supervisor)

    assert offer_for(refunds) is None


def test_one_rejection_among_the_last_n_withdraws_it_until_n_clean_approvals_follow(api, refunds, supervisor):
    approve(propose(api, 750), supervisor)
    approve(propose(api, 750), supervisor)
    propose(api, 750).reject(by=supervisor, reason="Wrong customer")
    approve(propose(api, 750), supervisor)
    approve(propose(api, 750), supervisor)

    assert offer_for(refunds) is None
    approve(propose(api, 750), supervisor)
    assert offer_for(refunds) is not None


def test_decisions_outside_the_window_do_not_count(three_clean_approvals, refunds):
    assert offer_for(refunds, now=timezone.now() + timedelta(days=29)) is not None
    assert offer_for(refunds, now=timezone.now() + timedelta(days=31)) is None


def test_no_offer_for_a_type_already_below_confirm_or_with_n_at_zero(three_clean_approvals, refunds):
    refunds.earned_autonomy_decisions = 0
    assert offer_for(refunds) is None
    refunds.earned_autonomy_decisions, refunds.autonomy = 3, "audit"
    assert offer_for(refunds) is None


def test_n_and_the_window_travel_with_the_policies_as_code(refund_type, tmp_path):
    out = io.StringIO()
    call_command("policies", "export", stdout=out)
    document = yaml.safe_load(out.getvalue())
    refund = document["action_types"]["payments.refund"]
    assert (refund["earned_autonomy_decisions"], refund["earned_autonomy_window"]) == (20, "30 00:00:00")

    refund.update(earned_autonomy_decisions=50, earned_autonomy_window="7 00:00:00")
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    call_command("policies", "import", str(path), stdout=io.StringIO())

    refund_type.refresh_from_db()
    assert (refund_type.earned_autonomy_decisions, refund_type.earned_autonomy_window) == (50, timedelta(days=7))


def test_the_admins_dry_run_of_a_loosening_counts_what_would_run_unreviewed_and_its_money(
    three_clean_approvals, refunds, client, policy_admin
):
    from tests.policies.test_admin import form_data

    client.force_login(policy_admin)

    page = client.post(change_url(refunds), {**form_data(refunds, autonomy="audit"), "_dryrun": "1"})

    assert "4 would run without a person</strong> that the saved policy sends to one, with $850.00 and €50.50" in (
        page.content.decode()
    )


def test_an_offer_that_would_let_nothing_through_says_what_still_holds_each_and_what_would_change_it(
    three_clean_approvals, refunds, client, policy_admin
):
    """Like crm.delete_contacts: irreversible with a high blast radius, act-with-audit lets none
    through, and ticking "let irreversible actions run without a person" alone would not either."""
    refunds.blast_radius, refunds.allow_irreversible_unattended = "high", False
    refunds.save()
    client.force_login(policy_admin)

    page = client.get(change_url(refunds)).content.decode()

    assert "<strong>0 would have run unreviewed</strong>" in page
    assert "Moving it changes nothing by itself." in page
    assert "blast radius is high (5): lower “Blast radius”: a high one always sends the proposal to a person" in page
    irreversible = "irreversible: a person confirms before it runs (5)"
    assert f"{irreversible}: tick “let irreversible actions run without a person”" in page
    assert "blast radius is high (5)" in offer_for(refunds).why()


def test_a_dry_run_that_changes_nothing_says_why_and_shows_parameters_as_json(
    three_clean_approvals, refunds, client, policy_admin
):
    from tests.policies.test_admin import form_data

    refunds.blast_radius = "high"
    refunds.save()
    client.force_login(policy_admin)

    page = client.post(change_url(refunds), {**form_data(refunds, autonomy="audit"), "_dryrun": "1"}).content.decode()

    assert "this change would route 0 differently" in page
    assert "Under the edited policy, 5 still go to a person: that is why nothing changes." in page
    assert "rule &#x27;huge refund&#x27; matched — 1 proposal: to let them through, change or remove that rule." in page

    refunds.blast_radius = "low"
    refunds.save()
    page = client.post(change_url(refunds), {**form_data(refunds, autonomy="audit"), "_dryrun": "1"}).content.decode()
    assert "<code>{&quot;amount&quot;: 100, &quot;currency&quot;: &quot;USD&quot;, " in page  # JSON, not a repr
