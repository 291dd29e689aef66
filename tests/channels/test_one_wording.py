"""One "may this person decide this, now?" (Action.refusal_for) for every channel: the inbox,
Slack, Teams and an email link refuse the same person for the same reason, in the same words."""

import html

import pytest
from django.test import Client

from approvals.models import Action
from approvals.notifications import decision_link
from tests.channels.conftest import SlackUserAgent
from tests.channels.microsoft import TeamsPerson
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db


def in_the_inbox(user, action):
    browser = Client()
    browser.force_login(user)
    answer = browser.post(f"/actions/{action.pk}/approve", {"confirm": CONFIRMED}, follow=True)
    return html.unescape(answer.content.decode())


def in_slack(client, slack_api, user, action):
    slack_api.users[f"U_{user.username.upper()}"] = (user.email, True)
    SlackUserAgent(client, f"U_{user.username.upper()}").press("approve", action)
    return slack_api.of("chat.postEphemeral")[-1]["text"]


def in_teams(client, microsoft, user, action):
    microsoft.members[f"29:{user.username}"] = {
        "id": f"29:{user.username}",
        "aadObjectId": f"aad-{user.username}",
        "email": user.email,
    }
    person = TeamsPerson(client, microsoft, aad_object_id=f"aad-{user.username}", teams_id=f"29:{user.username}")
    answer = person.press("approve", action).json()
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    return answer["value"]


def by_email_link(user, action):
    browser = Client()
    browser.force_login(user)
    return html.unescape(browser.get(decision_link(action, user, "approve")).content.decode())


@pytest.fixture
def refunds_posted_to_slack(refund_type, slack_api):
    refund_type.slack_channel = "C_REFUNDS"
    refund_type.save()


def test_someone_without_the_review_permission_hears_the_same_words_everywhere(
    api, client, slack_api, microsoft, refunds_posted_to_slack, outsider
):
    action = Action.objects.get(pk=api.propose().json()["id"])
    words = "You may not review payments.refund actions."

    assert words in in_the_inbox(outsider, action)
    assert in_slack(client, slack_api, outsider, action) == words
    assert in_teams(client, microsoft, outsider, action) == words
    assert words in by_email_link(outsider, action)
    action.refresh_from_db()
    assert action.status == "pending"


def test_the_person_it_was_asked_for_hears_the_same_words_everywhere(
    api, client, slack_api, microsoft, refunds_posted_to_slack, supervisor
):
    action = Action.objects.get(pk=api.propose(on_behalf_of=supervisor.username).json()["id"])
    words = "You cannot approve an action taken on your own behalf."

    assert words in in_the_inbox(supervisor, action)
    assert in_slack(client, slack_api, supervisor, action) == words
    assert in_teams(client, microsoft, supervisor, action) == words
    assert words in by_email_link(supervisor, action)
    action.refresh_from_db()
    assert action.status == "pending"


def test_a_card_someone_else_decided_says_who_everywhere(
    api, client, slack_api, microsoft, refunds_posted_to_slack, supervisor, second_supervisor
):
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.reject(by=second_supervisor, reason="duplicate")
    words = action.conflict_message(supervisor)
    assert words.startswith(f"Already rejected by {second_supervisor.username} at ")

    assert words in in_the_inbox(supervisor, action)
    assert in_slack(client, slack_api, supervisor, action) == words
    assert in_teams(client, microsoft, supervisor, action) == words
    assert words in by_email_link(supervisor, action)
