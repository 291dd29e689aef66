"""Deciding from Slack: the message, the buttons, the modals, and every message kept up to date."""

import json
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from approvals import escalation, notifications, slack
from approvals.models import Action, Notification, SlackMessage, SlackUser
from audit.log import Actor
from audit.models import Event
from hitl_site.celery import app
from policies.models import ActionType, EscalationTier
from tests.channels.conftest import SlackUserAgent

pytestmark = pytest.mark.django_db

HOSTILE = "Refund now @channel <@U0ADMIN> <!here> see <https://evil.example/x|the invoice> at evil.example.com & more"


@pytest.fixture
def refunds_channel(refund_type):
    refund_type.slack_channel = "C_REFUNDS"
    refund_type.save()
    return refund_type


@pytest.fixture
def posted(api, slack_api, refunds_channel):
    """A pending refund, posted to #refunds by the delivery loop."""
    action = Action.objects.get(pk=api.propose(rationale=HOSTILE).json()["id"])
    deliver_all()
    return action


def deliver_all():
    for message_id in SlackMessage.dispatch_due(timezone.now()):
        assert slack.deliver(message_id) is None


def texts(blocks):
    """Every piece of text in a message's blocks, joined."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def buttons(blocks):
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_pending_action_is_posted_to_its_types_channel_with_buttons(posted, slack_api):
    [post] = slack_api.of("chat.postMessage")

    assert post["channel"] == "C_REFUNDS"
    assert post["unfurl_links"] is False and post["unfurl_media"] is False
    assert buttons(post["blocks"]) == ["approve", "reject", "edit", "open"]
    shown = texts(post["blocks"])
    assert "Refund $750.00 to customer cus_123" in shown
    assert "*The agent's words:*" in shown
    assert ":warning: Irreversible" in shown and "SLA: decide by" in shown
    # An irreversible action's Approve asks again in Slack's own dialog (#20).
    approve = next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert approve["confirm"]["title"]["text"] == "Approve — irreversible"
    assert SlackMessage.objects.get().ts == "1700000000.000001"


def assert_inert(shown):
    assert "<@U0ADMIN>" not in shown and "<!here>" not in shown and "<https://" not in shown
    assert "@channel" not in shown and "evil.example.com" not in shown and "https://evil" not in shown
    assert "&lt;@U0ADMIN&gt;" in shown and "&amp; more" in shown


@pytest.fixture
def email_type(refunds_channel):
    """An email whose subject, the agent's text, is the summary's."""
    return ActionType.objects.create(
        key="email.send",
        params_schema={"type": "object", "properties": {"to": {"type": "string"}, "subject": {"type": "string"}}},
        summary_template="Email {{ to }}: {{ subject }}",
        autonomy="confirm",
        slack_channel="C_REFUNDS",
        first_use_threshold=0,
    )


def test_agent_text_cannot_mention_broadcast_or_link(posted, api, email_type, slack_api):
    assert_inert(texts(slack_api.of("chat.postMessage")[0]["blocks"]))
    email = Action.objects.get(pk=api.propose("email.send", {"to": "ann@example.org", "subject": HOSTILE}).json()["id"])
    deliver_all()

    post = slack_api.of("chat.postMessage")[1]
    # The fallback `text` (notifications, screen readers) is mrkdwn too, not only the blocks.
    assert_inert(post["text"])
    assert_inert(texts(post["blocks"]))
    # The Slack-compatible webhook of an escalation tier says the same, as inertly.
    _, _, payload = notifications.message_for_action(Notification.Kind.ESCALATED, email, HOSTILE)
    assert_inert(payload["text"])
    assert_inert(texts(payload["blocks"]))


def test_approving_from_slack_takes_one_click_and_updates_the_message(posted, sue_in_slack, slack_api):
    answer = sue_in_slack.press("approve", posted)

    assert answer.status_code == 200
    posted.refresh_from_db()
    assert posted.status == "approved" and posted.decision.by_name == "sue"
    approved = Event.objects.get(kind="action.approved")
    assert approved.data["channel"] == "slack"
    # The verified person: Slack vouched for this Slack user, whom Countersign knows as sue.
    assert approved.data["identity"] == {"method": "slack", "issuer": "https://slack.com", "subject": "U_SUE"}
    assert SlackUser.objects.get(slack_user_id="U_SUE").via == "email"
    deliver_all()
    [update] = slack_api.of("chat.update")
    assert update["ts"] == "1700000000.000001" and update["channel"] == "C_REFUNDS"
    assert buttons(update["blocks"]) == []
    assert "Approved by sue at" in texts(update["blocks"])


def test_a_decision_in_the_inbox_updates_every_slack_message_about_it(posted, client, supervisor, slack_api):
    client.force_login(supervisor)

    client.post(reverse("approvals:reject", args=[posted.pk]), {"common": "Against policy"})

    deliver_all()
    [update] = slack_api.of("chat.update")
    assert "Rejected by sue at" in texts(update["blocks"]) and "Against policy" in texts(update["blocks"])


@pytest.mark.parametrize(
    "signing",
    [{"secret": "not-the-secret"}, {"timestamp": int(time.time()) - 6 * 60}],
    ids=["bad signature", "older than five minutes"],
)
def test_a_request_slack_did_not_sign_just_now_is_refused(posted, sue_in_slack, signing):
    answer = sue_in_slack.press("approve", posted, **signing)

    assert answer.status_code == 401
    posted.refresh_from_db()
    assert posted.status == "pending"


def test_a_replayed_request_is_refused(posted, client, sue_in_slack):
    from tests.channels.conftest import signed

    body, headers = signed(
        {
            "type": "block_actions",
            "user": {"id": "U_SUE"},
            "channel": {"id": "C_REFUNDS"},
            "actions": [{"action_id": "reject", "value": str(posted.pk)}],
            "trigger_id": "t",
        }
    )
    first = client.post(
        "/slack/interactions", data=body, content_type="application/x-www-form-urlencoded", headers=headers
    )
    again = client.post(
        "/slack/interactions", data=body, content_type="application/x-www-form-urlencoded", headers=headers
    )

    assert (first.status_code, again.status_code) == (200, 401)


def test_a_slack_user_without_the_review_permission_is_told_why_and_nothing_changes(
    posted, client, slack_api, outsider
):
    slack_api.users["U_OLIVE"] = (outsider.email, True)

    SlackUserAgent(client, "U_OLIVE").press("approve", posted)

    [ephemeral] = slack_api.of("chat.postEphemeral")
    assert ephemeral["user"] == "U_OLIVE" and ephemeral["text"] == "You may not review payments.refund actions."
    posted.refresh_from_db()
    assert posted.status == "pending"


def test_nobody_approves_from_slack_what_was_asked_on_their_behalf(api, slack_api, refunds_channel, sue_in_slack):
    action = Action.objects.get(pk=api.propose(on_behalf_of="sue").json()["id"])

    sue_in_slack.press("approve", action)

    assert slack_api.of("chat.postEphemeral")[0]["text"] == "You cannot approve an action taken on your own behalf."
    action.refresh_from_db()
    assert action.status == "pending"


def test_an_unmatched_slack_user_links_their_account_once_and_then_decides(posted, client, slack_api, supervisor):
    slack_api.users["U_NEW"] = (supervisor.email, False)  # Slack has not verified that address
    in_slack = SlackUserAgent(client, "U_NEW")

    in_slack.press("approve", posted)

    text = slack_api.of("chat.postEphemeral")[0]["text"]
    assert "Link your account once: http://" in text
    link = text.split("once: ", 1)[1].replace("http://127.0.0.1:8000", "")
    assert client.get(link).status_code == 302  # to the login page, and back
    client.force_login(supervisor)
    assert b"U_NEW" in client.get(link).content
    client.post(link)
    assert SlackUser.objects.get(user=supervisor).slack_user_id == "U_NEW"
    in_slack.press("approve", posted)
    posted.refresh_from_db()
    assert posted.status == "approved"


def test_reject_asks_for_a_reason_in_a_modal(posted, sue_in_slack, slack_api):
    sue_in_slack.press("reject", posted)

    [opened] = slack_api.of("views.open")
    assert opened["trigger_id"] == "trigger-1" and opened["view"]["callback_id"] == "reject"
    assert "Against policy" in texts(opened["view"]["blocks"])
    refused = sue_in_slack.submit("reject", posted, {"reason": ""})
    assert refused.json()["response_action"] == "errors" and "Say why" in refused.json()["errors"]["reason"]
    sue_in_slack.submit("reject", posted, {"common": "Against policy", "reason": "Over the limit"})
    posted.refresh_from_db()
    assert posted.status == "rejected" and posted.decision.reason == "Against policy: Over the limit"
    assert Event.objects.get(kind="action.rejected").data["channel"] == "slack"


def test_edit_and_approve_checks_the_fields_on_the_server(posted, sue_in_slack, slack_api):
    sue_in_slack.press("edit", posted)

    [opened] = slack_api.of("views.open")
    fields = [b for b in opened["view"]["blocks"] if b["type"] == "input"]
    assert [(b["block_id"], b["element"]["initial_value"]) for b in fields] == [("amount", "750")]
    refused = sue_in_slack.submit("edit", posted, {"amount": "-5"})
    assert refused.json()["response_action"] == "errors" and "amount" in refused.json()["errors"]
    posted.refresh_from_db()
    assert posted.status == "pending"
    assert sue_in_slack.submit("edit", posted, {"amount": "500"}).status_code == 200
    posted.refresh_from_db()
    assert posted.status == "approved" and posted.final_params["amount"] == 500
    approved = Event.objects.get(kind="action.approved")
    assert approved.data["channel"] == "slack" and approved.data["edited"] is True


def test_the_edit_modal_offers_a_choice_as_a_select_and_a_nested_value_as_json(
    api, slack_api, refunds_channel, sue_in_slack
):
    schema = refunds_channel.params_schema
    schema["properties"]["lines"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["sku", "quantity"],
            "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
        },
    }
    refunds_channel.editable_params = ["amount", "currency", "lines"]
    refunds_channel.save()
    lines = [{"sku": "A-1", "quantity": 2}]
    action = Action.objects.get(
        pk=api.propose(params={"customer": "cus_1", "amount": 30, "currency": "USD", "lines": lines}).json()["id"]
    )
    deliver_all()

    sue_in_slack.press("edit", action)

    inputs = {b["block_id"]: b for b in slack_api.of("views.open")[0]["view"]["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["amount", "currency", "lines"]
    currency = inputs["currency"]["element"]
    assert currency["type"] == "static_select" and currency["initial_option"]["value"] == '"USD"'
    assert [o["value"] for o in currency["options"]] == ['"USD"', '"EUR"']
    assert json.loads(inputs["lines"]["element"]["initial_value"]) == lines
    assert "JSON" in inputs["lines"]["hint"]["text"]

    bad = {"amount": "30", "currency": '"EUR"', "lines": '[{"sku": "A-1", "quantity": 0}]'}
    refused = sue_in_slack.submit("edit", action, bad, selects=("currency",)).json()
    assert refused["response_action"] == "errors" and list(refused["errors"]) == ["lines"]
    broken = sue_in_slack.submit("edit", action, {**bad, "lines": "[{"}, selects=("currency",)).json()
    assert broken["errors"]["lines"].startswith("Not valid JSON")
    action.refresh_from_db()
    assert action.status == "pending"

    good = {**bad, "lines": '[{"sku": "A-1", "quantity": 1}, {"sku": "B-2", "quantity": 3}]'}
    assert sue_in_slack.submit("edit", action, good, selects=("currency",)).status_code == 200
    action.refresh_from_db()
    assert action.status == "approved"
    assert action.final_params == {
        "customer": "cus_1",
        "amount": 30,
        "currency": "EUR",
        "lines": [{"sku": "A-1", "quantity": 1}, {"sku": "B-2", "quantity": 3}],
    }


def test_a_second_click_after_the_decision_says_who_decided(posted, sue_in_slack, slack_api, second_supervisor):
    sue_in_slack.press("approve", posted)
    slack_api.users["U_SAM"] = (second_supervisor.email, True)

    SlackUserAgent(sue_in_slack.client, "U_SAM").press("approve", posted)

    assert slack_api.of("chat.postEphemeral")[0]["text"].startswith("Already approved by sue at")


@pytest.fixture
def sam_in_slack(client, slack_api, second_supervisor):
    slack_api.users["U_SAM"] = (second_supervisor.email, True)
    return SlackUserAgent(client, "U_SAM")


def test_four_eyes_in_slack_records_the_first_approval_and_the_second_person_decides(
    posted, sue_in_slack, sam_in_slack, slack_api
):
    posted.action_type.required_approvers = 2
    posted.action_type.save()

    sue_in_slack.press("approve", posted)

    [ephemeral] = slack_api.of("chat.postEphemeral")
    assert (ephemeral["user"], ephemeral["channel"]) == ("U_SUE", "C_REFUNDS")
    assert ephemeral["text"] == "Your approval is recorded: 1 of 2."
    posted.refresh_from_db()
    assert posted.status == "pending"
    sam_in_slack.press("approve", posted)
    posted.refresh_from_db()
    assert posted.status == "approved" and posted.decision.by_name == "sam"
    assert len(slack_api.of("chat.postEphemeral")) == 1


def test_an_edit_that_needs_another_approval_says_so_when_the_modal_closes(posted, sue_in_slack, slack_api):
    posted.action_type.required_approvers = 2
    posted.action_type.save()
    sue_in_slack.press("edit", posted)
    opened = slack_api.of("views.open")[0]["view"]

    answer = sue_in_slack.submit("edit", posted, {"amount": "375"}, metadata=opened["private_metadata"])

    assert answer.status_code == 200 and not answer.content  # the modal closes
    [ephemeral] = slack_api.of("chat.postEphemeral")
    assert (ephemeral["user"], ephemeral["channel"]) == ("U_SUE", "C_REFUNDS")
    assert ephemeral["text"].startswith("Your approval is recorded: 1 of 2.")
    assert "must approve the same changes" in ephemeral["text"]
    posted.refresh_from_db()
    assert posted.status == "pending" and posted.approvals.get().final_params["amount"] == 375


def test_slack_down_leaves_the_message_queued_for_a_retry(api, slack_api, refunds_channel):
    slack_api.fail_with = (503, "service_unavailable")
    api.propose()

    [message_id] = SlackMessage.dispatch_due(timezone.now())
    assert slack.deliver(message_id) is not None  # try again later
    message = SlackMessage.objects.get()
    assert message.status == "queued" and "503" in message.last_error and message.ts == ""


def test_a_channel_slack_refuses_fails_for_good(api, slack_api, refunds_channel):
    slack_api.fail_with = (200, "channel_not_found")
    api.propose()

    [message_id] = SlackMessage.dispatch_due(timezone.now())
    assert slack.deliver(message_id) is None
    message = SlackMessage.objects.get()
    assert message.status == "failed" and "channel_not_found" in message.last_error


def test_an_escalation_posts_to_the_tiers_channel_and_updates_the_deadline_shown(posted, slack_api, supervisor):
    EscalationTier.objects.create(
        action_type=posted.action_type, position=1, slack_channel="C_MANAGERS", duration=timedelta(minutes=10)
    )

    escalation.escalate_now(posted, actor=Actor.user(supervisor))

    deliver_all()
    assert [post["channel"] for post in slack_api.of("chat.postMessage")] == ["C_REFUNDS", "C_MANAGERS"]
    [update] = slack_api.of("chat.update")
    assert update["channel"] == "C_REFUNDS" and buttons(update["blocks"]) == ["approve", "reject", "edit", "open"]
    assert SlackMessage.objects.get(channel="C_MANAGERS").tier == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_posts_the_message_after_the_proposal_commits(api, slack_api, refunds_channel):
    # No ping check: it needs a result backend, and the tasks here report through the database.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        api.propose()
        deadline = time.monotonic() + 20
        while not slack_api.of("chat.postMessage") and time.monotonic() < deadline:
            time.sleep(0.1)

    assert [post["channel"] for post in slack_api.of("chat.postMessage")] == ["C_REFUNDS"]
    assert SlackMessage.objects.get().status == "sent"


def test_edit_is_refused_before_the_modal_to_whom_four_eyes_keeps_from_approving(
    api, slack_api, refunds_channel, sue_in_slack
):
    action = Action.objects.get(pk=api.propose(on_behalf_of="sue").json()["id"])

    sue_in_slack.press("edit", action)

    assert slack_api.of("views.open") == []
    assert slack_api.of("chat.postEphemeral")[0]["text"] == "You cannot approve an action taken on your own behalf."


def test_the_admin_lists_slack_messages_and_links(posted, sue_in_slack, client, superuser):
    sue_in_slack.press("approve", posted)
    client.force_login(superuser)

    assert b"C_REFUNDS" in client.get("/admin/approvals/slackmessage/").content
    assert b"U_SUE" in client.get("/admin/approvals/slackuser/").content


def test_an_sla_warning_updates_the_message_to_say_the_deadline_is_near(posted, slack_api):
    now = timezone.now()
    Action.objects.filter(pk=posted.pk).update(
        created_at=now - timedelta(minutes=25), due_at=now + timedelta(minutes=5)
    )

    assert escalation.sweep(now).warned == 1

    deliver_all()
    [update] = slack_api.of("chat.update")
    assert update["channel"] == "C_REFUNDS" and buttons(update["blocks"]) == ["approve", "reject", "edit", "open"]
    assert "*Deadline near:* due in 5 min" in texts(update["blocks"])


def test_a_message_about_an_overdue_action_says_its_deadline_passed(posted, slack_api):
    [post] = slack_api.of("chat.postMessage")
    assert "Deadline" not in texts(post["blocks"])
    Action.objects.filter(pk=posted.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    posted.refresh_from_db()

    _, blocks = slack.message(posted)

    assert "*Deadline passed:* escalating now" in texts(blocks)
