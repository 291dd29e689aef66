"""Four eyes (N distinct approvers, self-approval exclusions) and standing approvals."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals.models import Action, Conflict, NotAllowedToApprove
from audit.models import Event
from policies.models import ActionType, StandingApproval
from tests.conftest import make_user
from tests.policies.conftest import TAG


@pytest.fixture
def two_person_refund(refund_type, policy_admin):
    ActionType.objects.filter(pk=refund_type.pk).update(required_approvers=2)
    refund_type.refresh_from_db()
    return refund_type


def proposed(api, **fields):
    return Action.objects.get(pk=api.propose(**fields).json()["id"])


class TestFourEyes:
    def test_one_approval_of_two_leaves_the_action_pending(self, api, two_person_refund, supervisor):
        action = proposed(api)

        decision = action.approve(by=supervisor)

        action.refresh_from_db()
        assert decision is None
        assert action.status == "pending"
        event = Event.objects.get(kind="action.approval_recorded")
        assert event.data["approvals"] == 1 and event.data["required"] == 2

    def test_the_second_distinct_approver_decides(self, api, two_person_refund, supervisor, second_supervisor):
        action = proposed(api)
        action.approve(by=supervisor)

        decision = action.approve(by=second_supervisor)

        action.refresh_from_db()
        assert action.status == "approved"
        assert decision.by_name == "sam"

    def test_the_same_person_cannot_approve_twice(self, api, two_person_refund, supervisor):
        action = proposed(api)
        action.approve(by=supervisor)

        with pytest.raises(Conflict, match="already approved"):
            action.approve(by=supervisor)
        assert action.approvals.count() == 1

    def test_approvals_of_different_parameters_do_not_add_up(
        self, api, two_person_refund, supervisor, second_supervisor
    ):
        action = proposed(api)
        action.approve(by=supervisor, params={**action.params, "amount": 500})

        assert action.approve(by=second_supervisor) is None
        action.refresh_from_db()
        assert action.status == "pending"

    def test_a_rejection_by_either_rejects(self, api, two_person_refund, supervisor, second_supervisor):
        action = proposed(api)
        action.approve(by=supervisor)

        action.reject(by=second_supervisor, reason="not this customer")

        action.refresh_from_db()
        assert action.status == "rejected"
        with pytest.raises(Conflict):
            action.approve(by=make_user("tom"))

    def test_nobody_approves_an_action_taken_on_their_behalf(self, api, refund_type, supervisor):
        action = proposed(api, on_behalf_of="SUE@example.com")

        with pytest.raises(NotAllowedToApprove, match="your own behalf"):
            action.approve(by=supervisor)
        action.refresh_from_db()
        assert action.status == "pending"

    def test_the_admin_who_changed_the_policy_cannot_approve_when_two_are_required(
        self, api, two_person_refund, policy_admin, supervisor
    ):
        before = two_person_refund.policy_snapshot()
        two_person_refund.autonomy = "confirm"
        two_person_refund.sampling_rate = 0.5
        two_person_refund.save()
        two_person_refund.record_change(by=policy_admin, before=before)
        action = proposed(api)

        with pytest.raises(NotAllowedToApprove, match="You changed the policy"):
            action.approve(by=policy_admin)
        action.approve(by=supervisor)
        assert action.approvals.count() == 1

    def test_with_one_approver_the_policy_admin_may_approve(self, api, refund_type, policy_admin):
        before = refund_type.policy_snapshot()
        refund_type.sampling_rate = 0.5
        refund_type.save()
        refund_type.record_change(by=policy_admin, before=before)
        action = proposed(api)

        assert action.approve(by=policy_admin).verdict == "approved"


@pytest.fixture
def confirm_tag(tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(autonomy="confirm")
    tag_type.refresh_from_db()
    return tag_type


def allow_similar(api, supervisor, **options):
    first = Action.objects.get(pk=api.propose("tickets.tag", {**TAG, "amount": 50}).json()["id"])
    first.approve(by=supervisor)
    constraints = options.pop("constraints", {"amount": {"max": 100}})
    return StandingApproval.allow_similar(action=first, by=supervisor, constraints=constraints, **options)


class TestStandingApprovals:
    def test_matching_proposals_run_at_audit_and_are_audited(self, api, confirm_tag, supervisor):
        standing = allow_similar(api, supervisor)

        body = api.propose("tickets.tag", {**TAG, "amount": 80}).json()

        assert body["status"] == "approved"
        assert body["autonomy"] == "audit"
        assert body["route"]["reasons"][0].startswith(f"standing approval #{standing.pk} lets it through: amount ≤ 100")
        assert "waived by it: policy for 'tickets.tag': Confirm before act" in body["route"]["reasons"]
        routed = Event.objects.get(kind="action.routed", action_id=body["id"])
        assert routed.data["standing_approval"] == standing.pk
        created = Event.objects.get(kind="policy.changed", data__what="standing approval created")
        assert created.actor_name == "sue"
        standing.refresh_from_db()
        assert standing.uses == 1

    def test_proposals_outside_the_scope_wait_for_a_person(self, api, confirm_tag, supervisor):
        allow_similar(api, supervisor)

        assert api.propose("tickets.tag", {**TAG, "amount": 150}).json()["status"] == "pending"
        assert api.propose("tickets.tag", TAG).json()["status"] == "pending"

    def test_it_is_capped_in_count(self, api, confirm_tag, supervisor):
        allow_similar(api, supervisor, max_uses=2)

        statuses = [api.propose("tickets.tag", {**TAG, "amount": 10}).json()["status"] for _ in range(3)]

        assert statuses == ["approved", "approved", "pending"]

    def test_it_expires(self, api, confirm_tag, supervisor):
        standing = allow_similar(api, supervisor)
        StandingApproval.objects.filter(pk=standing.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

        assert api.propose("tickets.tag", {**TAG, "amount": 10}).json()["status"] == "pending"

    def test_revoking_takes_effect_on_the_next_proposal(self, api, confirm_tag, supervisor):
        standing = allow_similar(api, supervisor)

        standing.revoke(by=supervisor)

        assert api.propose("tickets.tag", {**TAG, "amount": 10}).json()["status"] == "pending"
        assert Event.objects.filter(data__what="standing approval revoked").count() == 1

    def test_it_never_lowers_a_hold(self, api, confirm_tag, supervisor):
        allow_similar(api, supervisor)
        ActionType.objects.filter(pk=confirm_tag.pk).update(pause="hold", pause_reason="incident")

        assert api.propose("tickets.tag", {**TAG, "amount": 10}).json()["status"] == "pending"

    def test_it_never_applies_to_irreversible_types(self, api, refund_type, supervisor):
        ActionType.objects.filter(pk=refund_type.pk).update(autonomy="confirm")
        action = Action.objects.get(pk=api.propose().json()["id"])
        action.approve(by=supervisor)

        with pytest.raises(ValidationError, match="irreversible"):
            StandingApproval.allow_similar(action=action, by=supervisor, constraints={})

    def test_only_an_approved_action_can_allow_similar_ones(self, api, confirm_tag, supervisor):
        pending = Action.objects.get(pk=api.propose("tickets.tag", TAG).json()["id"])

        with pytest.raises(ValidationError, match="this one is pending"):
            StandingApproval.allow_similar(action=pending, by=supervisor, constraints={})
        assert not StandingApproval.objects.exists()

    def test_it_lasts_at_most_thirty_days(self, api, confirm_tag, supervisor):
        standing = allow_similar(api, supervisor, duration=timedelta(days=90))

        assert standing.expires_at - standing.created_at == timedelta(days=30)

    def test_bad_constraints_are_refused_with_the_reason(self, api, confirm_tag, supervisor):
        with pytest.raises(ValidationError, match="amount: min and max are numbers"):
            allow_similar(api, supervisor, constraints={"amount": {"max": "lots"}})


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvers_make_exactly_one_decision(api, two_person_refund):
    import threading

    from django.db import connection

    from approvals.models import Decision

    action = proposed(api)
    approvers = [make_user(name) for name in ("ann", "ben", "cat")]
    start = threading.Barrier(len(approvers))
    outcomes = []

    def approve(user):
        try:
            start.wait()
            mine = Action.objects.select_related("action_type").get(pk=action.pk)
            outcomes.append("decided" if mine.approve(by=user) else "recorded")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "decided", "recorded"]
    assert Decision.objects.filter(action_id=action.pk).count() == 1
    assert Action.objects.get(pk=action.pk).status == "approved"
