"""Sampling: a reproducible share of auto-approved actions is drawn once, graded, and turned
into an error rate with its Wilson interval and a recommendation."""

import math
import random
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType, StandingApproval
from sampling import drawing, error_rates
from sampling.models import Sample, SamplingWatermark
from sampling.tasks import draw_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def email_type(db):
    return ActionType.objects.create(
        key="email.send", name="Send an email", autonomy="audit", sampling_rate=0.1, target_error_rate=0.05
    )


def auto_approved(action_type, agent, count, seed=42, **fields):
    """`count` auto-approved actions with ids from a seeded generator, an hour old."""
    rng = random.Random(seed)
    created = timezone.now() - timedelta(hours=1)
    return Action.objects.bulk_create(
        [
            Action(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                agent=agent,
                action_type=action_type,
                policy_version=1,
                status="approved",
                autonomy=fields.get("autonomy", "audit"),
                route=fields.get("route", {}),
                params={"to": f"user{n}@example.com"},
                final_params={"to": f"user{n}@example.com"},
                summary=f"Email user{n}@example.com",
                created_at=created,
            )
            for n in range(count)
        ]
    )


def test_a_draw_takes_the_types_share_within_its_statistical_bounds(email_type, agent):
    auto_approved(email_type, agent, 4000)

    drawn = draw_samples()

    # 10% of 4,000: mean 400, sd 19; four standard deviations either side.
    assert 400 - 4 * 19 <= drawn <= 400 + 4 * 19
    assert Sample.objects.filter(action_type=email_type).count() == drawn


def test_what_a_standing_approval_let_through_is_sampled_at_a_higher_rate(email_type, agent):
    zero_rate = ActionType.objects.create(key="crm.note", name="Add a CRM note", autonomy="audit", sampling_rate=0)
    later = timezone.now() + timedelta(days=1)
    email_standing, note_standing = (
        StandingApproval.objects.create(action_type=action_type, agent=agent, expires_at=later, max_uses=5000)
        for action_type in (email_type, zero_rate)
    )
    regular = auto_approved(email_type, agent, 2000, seed=1)
    allowed = auto_approved(email_type, agent, 2000, seed=2, route={"standing_approval": email_standing.pk})
    allowed_unsampled_type = auto_approved(zero_rate, agent, 400, seed=3, route={"standing_approval": note_standing.pk})
    auto_approved(zero_rate, agent, 400, seed=4)  # a rate of 0: never drawn

    drawing.draw()

    def drawn_below(actions, rate):
        return {a.pk for a in actions if drawing.draw_value(a.pk, a.action_type.key) < rate}

    drawn = set(Sample.objects.values_list("action_id", flat=True))
    # 10% of the type's own, max(2 × 10%, 25%) of those let through, 25% where the type's rate is 0.
    assert drawn == drawn_below(regular, 0.1) | drawn_below(allowed, 0.25) | drawn_below(allowed_unsampled_type, 0.25)
    assert 500 - 4 * 20 <= len(drawn_below(allowed, 0.25)) <= 500 + 4 * 20


def test_the_draw_is_reproducible_and_never_draws_an_action_twice(email_type, agent):
    actions = auto_approved(email_type, agent, 1000, seed=7)
    expected = {a.pk for a in actions if drawing.is_drawn(a.pk, email_type)}

    drawing.draw()
    first = set(Sample.objects.values_list("action_id", flat=True))
    SamplingWatermark.objects.all().delete()  # as if the draw had never run
    again = drawing.draw()

    assert first == expected
    assert again == 0 and Sample.objects.count() == len(expected)


def test_actions_a_person_decided_are_not_sampled(email_type, agent):
    auto_approved(email_type, agent, 300, autonomy="confirm")
    email_type.sampling_rate = 1.0
    email_type.save()

    assert drawing.draw() == 0


def test_a_sample_reviewer_grades_a_sample_once_with_an_audit_event(client, email_type, agent, sample_reviewer):
    email_type.sampling_rate = 1.0
    email_type.save()
    [action] = auto_approved(email_type, agent, 1)
    drawing.draw()
    client.force_login(sample_reviewer)

    assert "Email user0@example.com" in client.get("/samples/").content.decode()
    response = client.post(f"/samples/{action.pk}/grade", {"grade": "incorrect", "note": "Wrong recipient"})
    second = client.post(f"/samples/{action.pk}/grade", {"grade": "correct"}, headers={"HX-Request": "true"})

    assert response.status_code == 302
    sample = Sample.objects.get(pk=action.pk)
    assert (sample.grade, sample.note, sample.graded_by_name) == ("incorrect", "Wrong recipient", "sandy")
    assert "Already graded incorrect by sandy" in second.content.decode()
    event = Event.objects.get(kind="sample.graded")
    assert event.action_id == action.pk
    assert event.data == {
        "grade": "incorrect",
        "note": "Wrong recipient",
        "identity": {"method": "password", "issuer": settings.SITE_URL, "subject": str(sample_reviewer.pk)},
    }


def test_a_bad_grade_changes_nothing(client, email_type, agent, sample_reviewer):
    email_type.sampling_rate = 1.0
    email_type.save()
    [action] = auto_approved(email_type, agent, 1)
    drawing.draw()
    client.force_login(sample_reviewer)

    response = client.post(f"/samples/{action.pk}/grade", {"grade": "great"}, headers={"HX-Request": "true"})

    assert "Choose correct, incorrect or unsure." in response.content.decode()
    assert Sample.objects.get(pk=action.pk).grade == ""
    assert not Event.objects.filter(kind="sample.graded").exists()


def test_incorrect_needs_a_note_saying_what_was_wrong(client, email_type, agent, sample_reviewer):
    email_type.sampling_rate = 1.0
    email_type.save()
    [action] = auto_approved(email_type, agent, 1)
    drawing.draw()
    client.force_login(sample_reviewer)

    card = client.post(
        f"/samples/{action.pk}/grade", {"grade": "incorrect", "note": "  "}, headers={"HX-Request": "true"}
    )

    assert "Say what was wrong" in card.content.decode()
    assert Sample.objects.get(pk=action.pk).grade == ""
    assert not Event.objects.filter(kind="sample.graded").exists()
    client.post(f"/samples/{action.pk}/grade", {"grade": "correct"})
    assert Sample.objects.get(pk=action.pk).grade == "correct"  # a correct grade needs none


def test_only_sample_reviewers_see_the_sample_queue(client, outsider, supervisor):
    for user in (outsider, supervisor):
        client.force_login(user)
        assert client.get("/samples/").status_code == 403
        assert client.post(f"/samples/{uuid.uuid4()}/grade", {"grade": "correct"}).status_code == 403
    client.logout()
    assert client.get("/samples/").status_code == 302


def test_the_sample_views_answer_404_and_405(client, sample_reviewer):
    client.force_login(sample_reviewer)
    assert client.post(f"/samples/{uuid.uuid4()}/grade", {"grade": "correct"}).status_code == 404
    assert client.post("/samples/").status_code == 405
    assert client.get(f"/samples/{uuid.uuid4()}/grade").status_code == 405


def test_the_wilson_interval_matches_the_textbook_values():
    low, high = error_rates.wilson_interval(10, 100)
    assert (round(low, 4), round(high, 4)) == (0.0552, 0.1744)
    assert error_rates.wilson_interval(0, 0) == (0.0, 1.0)
    low, high = error_rates.wilson_interval(0, 50)
    assert low == 0.0 and round(high, 4) == 0.0713
    assert tuple(round(v, 4) for v in error_rates.wilson_interval(0, 10)) == (0.0, 0.2775)
    assert tuple(round(v, 4) for v in error_rates.wilson_interval(5, 100)) == (0.0215, 0.1118)
    assert tuple(round(v, 4) for v in error_rates.wilson_interval(10, 10)) == (0.7225, 1.0)


def test_the_recommendation_changes_exactly_at_the_intervals_edges():
    low, high = error_rates.wilson_interval(2, 200)
    assert error_rates.recommendation(low, high, target=math.nextafter(high, 1)) == "relax"
    assert error_rates.recommendation(low, high, target=high) == "not enough data yet"
    assert error_rates.recommendation(low, high, target=low) == "not enough data yet"
    assert error_rates.recommendation(low, high, target=math.nextafter(low, 0)) == "tighten"


def grade_many(action_type, agent, reviewer, correct, incorrect, unsure=0):
    actions = auto_approved(action_type, agent, correct + incorrect + unsure, seed=correct * 1000 + incorrect)
    grades = ["correct"] * correct + ["incorrect"] * incorrect + ["unsure"] * unsure
    Sample.objects.bulk_create(
        [
            Sample(action=a, action_type=action_type, grade=g, graded_by=reviewer, graded_at=timezone.now())
            for a, g in zip(actions, grades)
        ]
    )


def test_the_sample_page_recommends_relaxing_tightening_or_waiting(client, agent, sample_reviewer):
    safe = ActionType.objects.create(key="search.web", name="Search", autonomy="autonomous", target_error_rate=0.05)
    risky = ActionType.objects.create(key="email.send", name="Email", autonomy="audit", target_error_rate=0.05)
    new = ActionType.objects.create(key="crm.update", name="CRM", autonomy="audit", target_error_rate=0.05)
    grade_many(safe, agent, sample_reviewer, correct=200, incorrect=1, unsure=5)  # upper bound 2.7%
    grade_many(risky, agent, sample_reviewer, correct=80, incorrect=20)  # lower bound 13%
    grade_many(new, agent, sample_reviewer, correct=9, incorrect=1)

    rates = {rate.action_type.key: rate for rate in error_rates.error_rates()}
    assert rates["search.web"].recommendation == "relax"
    assert (rates["search.web"].graded, rates["search.web"].judged) == (206, 201)
    assert rates["email.send"].recommendation == "tighten"
    assert rates["crm.update"].recommendation == "not enough data yet"

    client.force_login(sample_reviewer)
    page = client.get("/samples/").content.decode()
    assert "relax: lower the sampling rate or raise autonomy" in page
    assert "tighten: raise the sampling rate or lower autonomy" in page
    assert "not enough data yet: the interval still contains the target" in page


def test_sampling_is_seeded_by_the_site_setting(email_type, agent, settings):
    actions = auto_approved(email_type, agent, 500, seed=3)
    default = {a.pk for a in actions if drawing.is_drawn(a.pk, email_type)}
    settings.HITL_SAMPLING_SEED = "another-seed"
    other = {a.pk for a in actions if drawing.is_drawn(a.pk, email_type)}

    assert default != other


def test_the_admin_lists_each_types_recommendation(admin_client, agent, sample_reviewer):
    risky = ActionType.objects.create(key="email.send", name="Email", autonomy="audit", target_error_rate=0.05)
    grade_many(risky, agent, sample_reviewer, correct=80, incorrect=20)

    page = admin_client.get("/admin/policies/actiontype/").content.decode()

    assert "20.0% (13.3%–28.9%), 100 graded: tighten" in page


def test_a_sample_reads_as_the_card_does_with_what_the_action_returned(client, email_type, agent, sample_reviewer):
    email_type.sampling_rate = 1.0
    email_type.save()
    [action] = auto_approved(email_type, agent, 1)
    Action.objects.filter(pk=action.pk).update(
        params={"to": "ana@example.com", "body": "Hello,\nyour refund is on its way."},
        final_params={"to": "ana@example.com", "body": "Hello,\nyour refund is on its way."},
        status="executed",
        outcome={"status": "succeeded", "output": {"message_id": "m-1", "preview": "Hello,\nyour refund"}, "error": ""},
    )
    drawing.draw()
    client.force_login(sample_reviewer)

    page = client.get("/samples/").content.decode()

    assert "<dt>Body</dt>" in page and "Hello,\nyour refund is on its way." in page  # a line break, not \\n
    assert "\\n" not in page.split("What it returned")[0].split("Sample queue")[1].split("<details")[0]
    assert "What it returned" in page and "Succeeded" in page
    assert "<dt>message_id</dt><dd class=\"text\">m-1</dd>" in page
