"""Deciding from Microsoft Teams: the Adaptive Card, its buttons (as the Bot Connector signs and
sends them), and every card kept up to date in place."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from approvals.models import Action
from audit.models import Event
from hitl_site.celery import app
from teams import delivery
from teams.models import TeamsCard, TeamsUser
from tests.channels.microsoft import CHANNEL, TeamsPerson, new_key

pytestmark = pytest.mark.django_db

HOSTILE = (
    "Refund now [the invoice](https://evil.example/x) **URGENT** see https://evil.example/pay "
    "or evil.example.com ![img](https://evil.example/p.png) <at>everyone</at>"
)


@pytest.fixture
def posted(api, microsoft, refund_type):
    """A pending refund, posted to the refunds channel by the delivery loop."""
    action = Action.objects.get(pk=api.propose(rationale=HOSTILE).json()["id"])
    deliver_all()
    return action


def deliver_all():
    for card_id in TeamsCard.dispatch_due(timezone.now()):
        assert delivery.deliver(card_id) is None


def card_of(activity):
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def walk(value):
    """Every dict inside a card."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def texts(card):
    return "\n".join(item["text"] for item in walk(card) if item.get("type") in ("TextRun", "TextBlock"))


def buttons(card):
    return [item.get("verb") or item["title"] for item in card["actions"]]


def inner_verbs(card):
    return [item["verb"] for item in walk(card) if item.get("type") == "Action.Execute"]


def answered_card(answer):
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive", body
    return body["value"]


def answered_message(answer):
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["type"] == "application/vnd.microsoft.activity.message", body
    return body["value"]


def test_a_pending_action_is_posted_to_the_channel_as_an_adaptive_card(posted, microsoft):
    [(path, activity)] = microsoft.posts()

    assert path == f"/teams/v3/conversations/{CHANNEL}/activities"
    card = card_of(activity)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert "Refund $750.00 to customer cus_123" in texts(card)
    assert "Irreversible" in texts(card)
    # Approve of an irreversible action is a second step; Reject asks a reason; Edit is a form.
    assert [action["title"] for action in card["actions"]] == ["Approve…", "Reject…", "Edit…", "Open in Countersign"]
    assert inner_verbs(card) == ["approve", "reject", "edit"]
    assert card["actions"][-1]["url"] == posted.review_url
    reason = next(item for item in walk(card) if item.get("id") == "reason")
    assert reason["type"] == "Input.Text"
    assert [item["id"] for item in walk(card) if item.get("id", "").startswith("param.")] == ["param.amount"]
    # The bot asked Entra for its token with its own credentials.
    assert microsoft.token_requests[0]["grant_type"] == "client_credentials"
    card_row = TeamsCard.objects.get()
    assert card_row.status == "sent" and card_row.activity_id.startswith("activity-")


def test_agent_text_cannot_inject_markdown_links_or_formatting(posted, microsoft):
    card = card_of(microsoft.posts()[0][1])

    # Teams renders Markdown in TextBlocks and FactSets: agent text is never there, only in
    # TextRuns (plain text), and no URL or host name is left for Teams to make a link of.
    assert not any(item.get("type") in ("FactSet", "TextBlock") for item in walk(card))
    shown = texts(card)
    assert "[the invoice]" in shown and "**URGENT**" in shown  # shown literally, as the agent wrote it
    assert "://" not in shown.replace(":\u200b//", "")
    assert "evil.example" not in shown and "evil.\u200bexample" in shown
    links = [item["url"] for item in walk(card) if "url" in item]
    assert links == [posted.review_url]


def test_approving_from_a_card_takes_one_press_and_updates_the_card_in_place(posted, microsoft, sue_in_teams):
    answer = sue_in_teams.press("approve", posted)

    card = answered_card(answer)
    assert "Approved by sue at" in texts(card) and inner_verbs(card) == []
    posted.refresh_from_db()
    assert posted.status == "approved" and posted.decision.by_name == "sue"
    approved = Event.objects.get(kind="action.approved")
    assert approved.data["channel"] == "teams"
    assert approved.data["identity"]["method"] == "teams" and approved.data["identity"]["subject"] == "aad-sue"
    assert TeamsUser.objects.get(aad_object_id="aad-sue").via == "email"
    deliver_all()
    [(path, activity)] = microsoft.updates()
    assert path == f"/teams/v3/conversations/{CHANNEL}/activities/{TeamsCard.objects.get().activity_id}"
    assert inner_verbs(card_of(activity)) == [] and "Approved by sue at" in texts(card_of(activity))


def test_reject_with_a_reason_rejects_and_the_agent_reads_it(posted, microsoft, sue_in_teams):
    card = answered_card(sue_in_teams.press("reject", posted, common="Against policy", reason="Not this customer"))

    posted.refresh_from_db()
    assert posted.status == "rejected"
    assert posted.decision.reason == "Against policy: Not this customer"
    assert Event.objects.get(kind="action.rejected").data["channel"] == "teams"
    assert "Rejected by sue at" in texts(card)


def test_reject_without_a_reason_shows_the_error_in_the_card_and_changes_nothing(posted, microsoft, sue_in_teams):
    card = answered_card(sue_in_teams.press("reject", posted, common="", reason="  "))

    assert "Say why you reject it" in texts(card)
    assert card["actions"][0]["title"] == "Reject…"  # the form with the error comes first
    posted.refresh_from_db()
    assert posted.status == "pending"
    assert not Event.objects.filter(kind="action.rejected").exists()


def test_edit_and_approve_from_the_card(posted, microsoft, sue_in_teams):
    card = answered_card(sue_in_teams.press("edit", posted, **{"param.amount": "500"}))

    posted.refresh_from_db()
    assert posted.status == "approved" and posted.final_params["amount"] == 500
    assert posted.decision.edited
    assert "Approved by sue at" in texts(card) and "(edited)" in texts(card)


def test_an_invalid_edit_is_shown_in_the_card_with_what_was_typed(posted, microsoft, sue_in_teams):
    card = answered_card(sue_in_teams.press("edit", posted, **{"param.amount": "-5"}))

    assert card["actions"][0]["title"] == "Edit…"
    amount = next(item for item in walk(card) if item.get("id") == "param.amount")
    assert amount["value"] == "-5"
    assert "More than 0." in texts(card)  # the schema's exclusiveMinimum, in words
    posted.refresh_from_db()
    assert posted.status == "pending" and posted.final_params is None


@pytest.mark.parametrize(
    "bad_token",
    [
        pytest.param({"key": new_key()}, id="forged signature"),
        pytest.param({"expires_in": -3600}, id="expired"),
        pytest.param({"audience": "another-bot"}, id="wrong audience"),
        pytest.param({"issuer": "https://evil.example"}, id="wrong issuer"),
        pytest.param({"kid": "unknown-key"}, id="unknown key"),
        pytest.param({"serviceUrl": "https://evil.example/teams/"}, id="another service url"),
        pytest.param({"authorization": ""}, id="no token"),
        pytest.param({"authorization": "Bearer not-a-jwt"}, id="not a jwt"),
    ],
)
def test_an_activity_the_bot_connector_did_not_sign_for_this_bot_is_refused(posted, sue_in_teams, bad_token):
    answer = sue_in_teams.press("approve", posted, token=bad_token)

    assert answer.status_code == 401
    posted.refresh_from_db()
    assert posted.status == "pending"
    assert not TeamsUser.objects.exists()


def test_while_microsofts_keys_cannot_be_read_the_keys_read_before_serve_and_are_asked_once_a_minute(
    posted, microsoft, sue_in_teams, settings, monkeypatch
):
    from teams import auth

    assert auth.KEYS.get(settings.TEAMS_OPENID_METADATA_URL, microsoft.kid)[1] is not None
    monkeypatch.setattr(auth.KEYS, "clock", lambda: time.monotonic() + 2 * 24 * 3600)  # two days on
    microsoft.identity_down = True
    reads = microsoft.metadata_reads

    assert "Approved by sue at" in texts(answered_card(sue_in_teams.press("approve", posted)))
    auth.KEYS.get(settings.TEAMS_OPENID_METADATA_URL, microsoft.kid)
    assert microsoft.metadata_reads == reads + 1  # tried once; the next try is a minute away
    posted.refresh_from_db()
    assert posted.status == "approved"


def test_a_key_not_endorsed_for_teams_is_refused(posted, microsoft, sue_in_teams):
    microsoft.endorsements = ["webchat"]

    assert sue_in_teams.press("approve", posted).status_code == 401
    posted.refresh_from_db()
    assert posted.status == "pending"


def test_a_teams_user_without_the_review_permission_is_told_why_and_nothing_changes(
    posted, client, microsoft, outsider
):
    microsoft.members["29:olive"] = {"id": "29:olive", "aadObjectId": "aad-olive", "email": outsider.email}
    olive = TeamsPerson(client, microsoft, aad_object_id="aad-olive", teams_id="29:olive")

    assert answered_message(olive.press("approve", posted)) == "You may not review payments.refund actions."
    posted.refresh_from_db()
    assert posted.status == "pending"
    assert not Event.objects.filter(kind__in=["action.approved", "action.rejected"]).exists()


def test_a_teams_user_countersign_cannot_match_is_told_how_to_be_linked(posted, client, microsoft):
    stranger = TeamsPerson(client, microsoft, aad_object_id="aad-nobody", teams_id="29:nobody")

    assert "Teams does not say who you are in Countersign" in answered_message(stranger.press("approve", posted))
    posted.refresh_from_db()
    assert posted.status == "pending"


def test_a_person_of_another_tenant_is_not_matched_even_by_email(posted, client, microsoft, supervisor):
    microsoft.members["29:sue"] = {"id": "29:sue", "aadObjectId": "aad-sue", "email": supervisor.email}
    sue_elsewhere = TeamsPerson(client, microsoft, aad_object_id="aad-sue", teams_id="29:sue", tenant="other-tenant")

    assert "Teams does not say who you are" in answered_message(sue_elsewhere.press("approve", posted))
    posted.refresh_from_db()
    assert posted.status == "pending"


def test_without_a_configured_tenant_nobody_is_matched(posted, client, microsoft, supervisor, settings):
    """Any tenant may install an app naming this bot: with no tenant of its own, nobody decides."""
    settings.TEAMS_TENANT_ID = ""
    microsoft.members["29:sue"] = {"id": "29:sue", "aadObjectId": "aad-sue", "email": supervisor.email}
    sue = TeamsPerson(client, microsoft, aad_object_id="aad-sue", teams_id="29:sue", tenant="any-tenant")

    assert "Teams does not say who you are" in answered_message(sue.press("approve", posted))
    posted.refresh_from_db()
    assert posted.status == "pending"


def test_nobody_approves_from_teams_what_was_asked_on_their_behalf(api, microsoft, refund_type, sue_in_teams):
    action = Action.objects.get(pk=api.propose(on_behalf_of="sue").json()["id"])

    answer = answered_message(sue_in_teams.press("approve", action))

    assert answer == "You cannot approve an action taken on your own behalf."
    action.refresh_from_db()
    assert action.status == "pending"


def test_four_eyes_in_teams_records_the_first_approval_and_the_second_person_decides(
    posted, client, microsoft, sue_in_teams, second_supervisor
):
    posted.action_type.required_approvers = 2
    posted.action_type.save()
    microsoft.members["29:sam"] = {"id": "29:sam", "aadObjectId": "aad-sam", "email": second_supervisor.email}
    sam = TeamsPerson(client, microsoft, aad_object_id="aad-sam", teams_id="29:sam")

    first = answered_card(sue_in_teams.press("approve", posted))
    assert "Your approval is recorded: 1 of 2." in texts(first)
    posted.refresh_from_db()
    assert posted.status == "pending"
    assert answered_message(sue_in_teams.press("approve", posted)) == posted.refusal_for(
        TeamsUser.objects.get(aad_object_id="aad-sue").user
    )

    answered_card(sam.press("approve", posted))
    posted.refresh_from_db()
    assert posted.status == "approved"


def test_a_second_press_after_the_decision_says_who_decided(posted, microsoft, sue_in_teams, second_supervisor):
    posted.reject(by=second_supervisor, reason="duplicate")

    answer = answered_message(sue_in_teams.press("approve", posted))

    assert answer.startswith("Already rejected by sam at ")


def test_a_decision_in_the_inbox_updates_the_card_in_place(posted, client, supervisor, microsoft):
    client.force_login(supervisor)

    client.post(reverse("approvals:reject", args=[posted.pk]), {"common": "Against policy"})

    deliver_all()
    [(_, activity)] = microsoft.updates()
    assert "Rejected by sue at" in texts(card_of(activity)) and "Against policy" in texts(card_of(activity))


def test_an_sla_warning_updates_the_card_to_say_the_deadline_is_near(posted, microsoft):
    from approvals import escalation

    now = timezone.now()
    Action.objects.filter(pk=posted.pk).update(
        created_at=now - timedelta(minutes=25), due_at=now + timedelta(minutes=5)
    )

    assert escalation.sweep(now).warned == 1

    deliver_all()
    [(_, activity)] = microsoft.updates()
    assert "Deadline near: due in 5 min" in texts(card_of(activity))
    assert inner_verbs(card_of(activity)) == ["approve", "reject", "edit"]


def test_an_escalation_updates_the_card_with_its_new_deadline(posted, microsoft, supervisor):
    from approvals import escalation
    from audit.log import Actor
    from policies.models import EscalationTier

    EscalationTier.objects.create(action_type=posted.action_type, position=1, duration=timedelta(minutes=10))
    shown_before = texts(card_of(microsoft.posts()[0][1]))

    escalation.escalate_now(posted, actor=Actor.user(supervisor))

    deliver_all()
    [(_, activity)] = microsoft.updates()
    posted.refresh_from_db()
    shown = texts(card_of(activity))
    assert f"SLA: decide by {timezone.localtime(posted.due_at):%Y-%m-%d %H:%M}" in shown and shown != shown_before
    assert inner_verbs(card_of(activity)) == ["approve", "reject", "edit"]


def test_the_bot_connector_down_leaves_the_card_queued_for_a_retry(api, microsoft, refund_type):
    microsoft.fail_with = 503
    api.propose()

    [card_id] = TeamsCard.dispatch_due(timezone.now())
    assert delivery.deliver(card_id) is not None
    card = TeamsCard.objects.get()
    assert card.status == "queued" and card.attempts == 1 and "503" in card.last_error


def test_a_conversation_the_bot_connector_refuses_fails_for_good(api, microsoft, refund_type):
    microsoft.fail_with = 403
    api.propose()

    deliver_all()
    card = TeamsCard.objects.get()
    assert card.status == "failed" and "403" in card.last_error


def test_a_reviewer_who_opened_a_personal_chat_gets_cards_there(api, client, settings, microsoft, sue_in_teams):
    settings.TEAMS_PERSONAL_CHATS = True
    earlier = Action.objects.get(pk=api.propose().json()["id"])
    # Any activity from her personal chat (a press, installing the app) tells the bot where it is.
    sue_in_teams.send(
        sue_in_teams.activity(
            verb="approve", action=earlier, conversation="a:sue-personal", conversation_type="personal"
        )
    )

    later = Action.objects.get(
        pk=api.propose(params={"customer": "cus_9", "amount": 20, "currency": "USD"}).json()["id"]
    )

    assert set(TeamsCard.objects.filter(action=later).values_list("conversation_id", flat=True)) == {
        CHANNEL,
        "a:sue-personal",
    }


def test_the_admin_lists_teams_cards_and_users(posted, sue_in_teams, client, superuser):
    sue_in_teams.press("approve", posted)
    client.force_login(superuser)

    assert CHANNEL.encode() in client.get("/admin/teams/teamscard/").content
    assert b"aad-sue" in client.get("/admin/teams/teamsuser/").content


def test_the_messaging_endpoint_takes_only_a_post_of_a_signed_activity(posted, client, microsoft, sue_in_teams):
    assert client.get("/teams/messages").status_code == 405
    assert client.post("/teams/messages", data="nope", content_type="application/json").status_code == 401
    malformed = {**sue_in_teams.activity(verb="approve", action=posted), "from": "sue"}

    assert sue_in_teams.send(malformed).status_code == 400
    posted.refresh_from_db()
    assert posted.status == "pending"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_updates_the_card_after_a_decision_in_the_inbox(api, client, microsoft, refund_type, supervisor):
    # No ping check: it needs a result backend, and the tasks here report through the database.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        action_id = api.propose().json()["id"]
        wait_for(lambda: microsoft.posts())
        client.force_login(supervisor)
        client.post(reverse("approvals:reject", args=[action_id]), {"common": "Against policy"})
        wait_for(lambda: microsoft.updates())

    [(path, activity)] = microsoft.updates()
    assert path.endswith("/activities/" + TeamsCard.objects.get().activity_id)
    assert "Rejected by sue at" in texts(card_of(activity))


def wait_for(condition, timeout=20):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert condition()
