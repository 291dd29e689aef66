"""Push notifications (Web Push with VAPID): a reviewer's browser subscribes, a new pending
action, an SLA warning and an escalation reach it encrypted for it alone, and a notification's
Approve decides once, as its reviewer, through the checks every channel shares."""

import json
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from approvals import escalation
from approvals.models import Action, Decision, SpentToken
from audit.models import Event
from hitl_site.celery import app
from policies.models import ActionType, EscalationTier
from push import messages, vapid
from push.models import PushMessage, Subscription
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SUMMARY = "Refund $750.00 to customer cus_123"


def logged_in(user):
    browser = Client()
    browser.force_login(user)
    return browser


def subscribe(user, browser):
    """`user` turns push on in `browser`, as push/register.js posts its subscription."""
    answer = logged_in(user).post("/push/subscribe", browser.subscription(), content_type="application/json")
    assert answer.status_code == 201, answer.content
    return browser


@pytest.fixture
def sues_phone(push_on, push_service, supervisor):
    return subscribe(supervisor, push_service.browser("sue-phone"))


def deliver_all():
    for message_id in PushMessage.objects.filter(status="queued").values_list("pk", flat=True):
        messages.deliver(message_id)


def received_by(push_service, browser):
    """What `browser` decrypted from the push service, in order (each JSON payload)."""
    path = browser.endpoint.removeprefix(push_service.origin)
    return [json.loads(browser.decrypt(post.body)) for post in push_service.received if post.path == path]


def test_a_new_pending_action_reaches_its_reviewer_encrypted_and_signed(api, push_service, sues_phone):
    action = Action.objects.get(pk=api.propose().json()["id"])

    deliver_all()

    [post] = push_service.received
    assert post.headers["content-encoding"] == "aes128gcm"
    assert SUMMARY.encode() not in post.body  # encrypted for the subscription's keys alone
    assert post.vapid_key == vapid.public_key()  # signed with the server's key (checked by the push service)
    assert post.claims["sub"] == "mailto:countersign@localhost"
    assert 0 < int(post.headers["ttl"]) <= 30 * 60  # worth showing until the deadline
    assert received_by(push_service, sues_phone) == [
        {
            "title": "Waiting for you",
            "body": SUMMARY,
            "url": f"/actions/{action.pk}/",
            "tag": f"action-{action.pk}",
            "actions": [],
        }
    ]
    assert PushMessage.objects.get().status == "sent"


def test_only_people_who_may_review_it_and_turned_push_on_are_told(api, push_service, push_on, supervisor, outsider):
    olives_laptop = subscribe(outsider, push_service.browser("olive-laptop"))
    make_user("sam", "supervisors")  # may review refunds, but push is off for him

    api.propose()
    deliver_all()

    assert [post.path for post in push_service.received] == []
    assert received_by(push_service, olives_laptop) == []


def test_each_browser_of_a_reviewer_is_told(api, push_service, sues_phone, supervisor):
    sues_laptop = subscribe(supervisor, push_service.browser("sue-laptop"))

    api.propose()
    deliver_all()

    assert [m["body"] for m in received_by(push_service, sues_phone)] == [SUMMARY]
    assert [m["body"] for m in received_by(push_service, sues_laptop)] == [SUMMARY]


@pytest.mark.parametrize("gone", [404, 410])
def test_a_subscription_the_push_service_says_is_gone_is_deleted(api, push_service, sues_phone, gone):
    push_service.answers = [gone]
    api.propose()

    deliver_all()

    assert Subscription.objects.count() == 0
    assert PushMessage.objects.count() == 0


def test_a_busy_push_service_is_tried_again_later(api, push_service, sues_phone):
    push_service.answers = [503]
    api.propose()

    deliver_all()

    message = PushMessage.objects.get()
    assert (message.status, message.attempts) == ("queued", 1)
    assert "503" in message.last_error
    assert Subscription.objects.count() == 1


def test_a_push_service_refusing_the_message_is_not_retried(api, push_service, sues_phone):
    push_service.answers = [413]
    api.propose()

    deliver_all()

    message = PushMessage.objects.get()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "HTTP 413" in message.last_error


def test_keys_that_cannot_encrypt_fail_the_message_for_good(api, push_service, sues_phone):
    Subscription.objects.update(p256dh="!!!!", auth="A")
    api.propose()

    deliver_all()

    message = PushMessage.objects.get()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "The subscription's keys are malformed" in message.last_error


def test_an_action_decided_before_its_notification_went_out_is_not_sent(api, push_service, sues_phone, supervisor):
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.reject(by=supervisor, reason="Duplicate")

    deliver_all()

    assert push_service.received == []
    assert PushMessage.objects.get().status == "skipped"


def test_the_bare_setting_keeps_the_summary_out_of_the_payload(api, push_service, sues_phone, reversible, settings):
    settings.HITL_PUSH_PAYLOAD = "bare"
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    api.propose()

    deliver_all()

    [payload] = received_by(push_service, sues_phone)
    assert payload["body"] == "A card waits for your decision in Countersign."
    assert "cus_123" not in json.dumps(payload) and "750" not in json.dumps(payload)
    assert payload["actions"] == []  # nobody approves what they cannot read


def test_a_reversible_action_of_an_allowed_type_can_be_approved_from_the_notification(
    api, push_service, sues_phone, reversible, settings
):
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    api.propose()

    deliver_all()

    [payload] = received_by(push_service, sues_phone)
    assert payload["actions"] == [{"action": "approve", "title": "Approve"}, {"action": "reject", "title": "Reject…"}]
    assert payload["approve"].startswith("/push/approve/")


def test_a_reversible_action_of_a_type_not_allowed_has_no_buttons(api, push_service, sues_phone, reversible):
    api.propose()
    deliver_all()

    [payload] = received_by(push_service, sues_phone)
    assert payload["actions"] == [] and "approve" not in payload


def test_an_irreversible_action_never_has_buttons_on_the_lock_screen(api, push_service, sues_phone, settings):
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]  # listed, yet irreversible
    api.propose()
    deliver_all()

    [payload] = received_by(push_service, sues_phone)
    assert payload["actions"] == [] and "approve" not in payload


def test_no_approve_for_the_person_the_agent_acts_for(api, push_service, sues_phone, reversible, settings):
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    api.propose(on_behalf_of="sue")
    deliver_all()

    [payload] = received_by(push_service, sues_phone)
    assert payload["body"] == SUMMARY and payload["actions"] == []


def test_agent_text_is_one_line_of_plain_text_truncated(api, push_service, push_on, supervisor, agent):
    notes = ActionType.objects.create(
        key="notes.send",
        name="Send a note",
        params_schema={"type": "object"},
        summary_template="Send {{ note }}",
        autonomy="confirm",
        first_use_threshold=0,
    )
    from guardian.shortcuts import assign_perm

    assign_perm("policies.review_actiontype", Group.objects.get(name="supervisors"), notes)
    phone = subscribe(supervisor, push_service.browser("sue-phone"))
    api.propose("notes.send", {"note": "<b>hi</b>\n\u202egnp.exe\u0007 " + "x" * 500})

    deliver_all()

    [payload] = received_by(push_service, phone)
    assert payload["body"].startswith("Send <b>hi</b> gnp.exe")  # shown as text: a notification renders none
    assert len(payload["body"]) == messages.SUMMARY_LIMIT and payload["body"].endswith("…")
    assert not any(ch in payload["body"] for ch in "\n\u202e\u0007")


@pytest.fixture
def managers_tier(refund_type):
    managers = make_user("mia", "managers")
    EscalationTier.objects.create(
        action_type=refund_type, position=1, group=Group.objects.get(name="managers"), duration=timedelta(minutes=10)
    )
    return managers


def test_a_near_deadline_and_an_escalation_reach_whoever_holds_the_action(api, push_service, sues_phone, managers_tier):
    mias_phone = subscribe(managers_tier, push_service.browser("mia-phone"))
    action = Action.objects.get(pk=api.propose().json()["id"])

    escalation.sweep(now=action.created_at + timedelta(minutes=25))  # past the warning share (80%)
    escalation.sweep(now=action.due_at + timedelta(seconds=1))  # overdue: tier 1, the managers
    deliver_all()

    assert [m["title"] for m in received_by(push_service, sues_phone)] == ["Waiting for you", "Decide soon"]
    assert [m["title"] for m in received_by(push_service, mias_phone)] == ["Escalated to you"]
    assert received_by(push_service, mias_phone)[0]["body"] == SUMMARY


def test_a_second_sweep_queues_nothing_again(api, push_service, sues_phone):
    action = Action.objects.get(pk=api.propose().json()["id"])
    escalation.sweep(now=action.created_at + timedelta(minutes=25))
    messages.queue(kind="warning", actions=[action])  # as a retried sweep would

    assert sorted(PushMessage.objects.values_list("kind", flat=True)) == ["new", "warning"]


# A notification's Approve.


@pytest.fixture
def approvable(api, push_service, sues_phone, reversible, settings):
    """A reversible refund whose notification reached Sue's phone with an Approve; its URL."""
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    action = Action.objects.get(pk=api.propose().json()["id"])
    deliver_all()
    [payload] = received_by(push_service, sues_phone)
    return action, payload["approve"]


def test_approve_from_the_notification_decides_once_as_its_reviewer_with_an_audit_event(approvable, supervisor):
    action, approve_url = approvable
    phone = logged_in(supervisor)

    answer = phone.post(approve_url)

    assert answer.status_code == 200
    assert answer.json()["message"] == f"Approved: {SUMMARY}."
    action.refresh_from_db()
    assert action.status == "approved"
    assert Decision.objects.get(action=action).by == supervisor
    event = Event.objects.get(action_id=action.pk, kind="action.approved")
    assert (event.actor_name, event.data["channel"]) == ("sue", "push")

    again = phone.post(approve_url)
    assert again.status_code == 409
    assert (
        again.json()["error"]
        == "You already decided this: approved at " + timezone.localtime(action.decided_at).strftime("%H:%M:%S") + "."
    )


def test_another_sites_page_cannot_spend_an_approve_token(approvable, supervisor):
    action, approve_url = approvable

    answer = logged_in(supervisor).post(approve_url, headers={"Sec-Fetch-Site": "cross-site"})

    assert answer.status_code == 403
    assert answer.json()["error"] == "Approve from the notification itself, or decide on the card."
    action.refresh_from_db()
    assert action.status == "pending"


def test_an_approve_token_is_spent_by_the_approval_it_made(approvable, supervisor):
    action, approve_url = approvable
    ActionType.objects.filter(key="payments.refund").update(required_approvers=2)  # four eyes: Sue's is one of two
    phone = logged_in(supervisor)

    first = phone.post(approve_url)
    second = phone.post(approve_url)

    assert first.status_code == 200
    assert first.json()["message"] == "Your approval is recorded: 1 of 2."
    nonce = messages.read_approve_token(approve_url.rsplit("/", 1)[1])["n"]
    assert SpentToken.objects.filter(key=f"push:{nonce}").exists()
    assert second.status_code == 409  # the same words the inbox would say
    assert second.json()["error"] == "You approved it already; it waits for another approver."
    action.refresh_from_db()
    assert action.status == "pending"


def test_an_approve_token_is_bound_to_its_reviewer(approvable, supervisor):
    action, approve_url = approvable
    sam = make_user("sam", "supervisors")  # may review refunds, but the notification was Sue's

    answer = logged_in(sam).post(approve_url)

    assert answer.status_code == 403
    assert answer.json()["error"] == "This notification was sent to another reviewer."
    action.refresh_from_db()
    assert action.status == "pending"


def test_an_approve_token_is_refused_to_someone_without_the_permission(api, reversible, outsider, settings):
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    action = Action.objects.get(pk=api.propose().json()["id"])
    token = messages.approve_token(action, outsider)  # as if one had reached them

    answer = logged_in(outsider).post(f"/push/approve/{token}")

    assert answer.status_code == 403
    assert answer.json()["error"] == "You may not review payments.refund actions."  # the one wording
    action.refresh_from_db()
    assert action.status == "pending"


def test_an_approve_is_refused_once_the_type_is_no_longer_allowed_or_irreversible(approvable, supervisor, settings):
    action, approve_url = approvable
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = []
    assert logged_in(supervisor).post(approve_url).json()["error"] == (
        "Approving payments.refund actions from a notification is not allowed here."
    )
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    ActionType.objects.filter(key="payments.refund").update(irreversible=True)
    answer = logged_in(supervisor).post(approve_url)
    assert answer.status_code == 403
    assert answer.json()["error"] == "Irreversible actions are approved on their card, never from a notification."
    action.refresh_from_db()
    assert action.status == "pending"


def test_an_approve_needs_a_login_a_valid_token_and_a_post(approvable, supervisor, settings):
    action, approve_url = approvable

    assert Client().post(approve_url).status_code == 401
    assert logged_in(supervisor).get(approve_url).status_code == 405
    tampered = approve_url[:-3] + ("abc" if not approve_url.endswith("abc") else "xyz")
    assert logged_in(supervisor).post(tampered).json() == {"error": "This Approve is not valid."}
    settings.HITL_PUSH_APPROVE_MAX_AGE_SECONDS = -1
    assert logged_in(supervisor).post(approve_url).json() == {
        "error": "This notification's Approve has expired. Decide on the card."
    }
    action.refresh_from_db()
    assert action.status == "pending"


# Turning push on and off.


def test_a_subscription_must_name_a_push_service_this_server_sends_to(push_on, push_service, supervisor, settings):
    browser = logged_in(supervisor)
    elsewhere = {**push_service.browser("x").subscription(), "endpoint": "https://internal.example/admin"}
    plain_http = {**push_service.browser("x").subscription(), "endpoint": "http://fcm.googleapis.com/fcm/send/x"}
    settings.HITL_PUSH_SERVICE_HOSTS = ["127.0.0.1", "fcm.googleapis.com"]

    refused = browser.post("/push/subscribe", elsewhere, content_type="application/json")
    assert refused.status_code == 422
    assert (
        refused.json()["error"] == "The subscription's push service internal.example is not one this server sends to."
    )
    insecure = browser.post("/push/subscribe", plain_http, content_type="application/json")
    assert insecure.json()["error"] == "The subscription's endpoint must be an https:// URL."
    malformed = browser.post("/push/subscribe", {"endpoint": 5}, content_type="application/json")
    assert malformed.status_code == 400
    not_a_point = {**push_service.browser("x").subscription()}
    not_a_point["keys"] = {**not_a_point["keys"], "p256dh": "AAAA"}
    refused_keys = browser.post("/push/subscribe", not_a_point, content_type="application/json")
    assert refused_keys.status_code == 400
    assert refused_keys.json()["error"].startswith("The subscription's keys.p256dh is not a P-256 public key")
    short_secret = {**push_service.browser("x").subscription()}
    short_secret["keys"] = {**short_secret["keys"], "auth": "QQ"}
    assert "keys.auth is not a 16-byte secret" in browser.post(
        "/push/subscribe", short_secret, content_type="application/json"
    ).json()["error"]
    assert Subscription.objects.count() == 0


def test_subscribing_needs_a_login_and_push_configured(push_service, supervisor, settings):
    subscription = push_service.browser("x").subscription()
    settings.HITL_VAPID_PRIVATE_KEY = ""
    answer = logged_in(supervisor).post("/push/subscribe", subscription, content_type="application/json")
    assert answer.status_code == 409
    assert answer.json()["error"] == "Push notifications are off on this server."
    assert Client().post("/push/subscribe", subscription, content_type="application/json").status_code == 302
    assert Subscription.objects.count() == 0


def test_turning_push_off_forgets_every_browser_of_that_person_only(push_on, push_service, supervisor, outsider):
    subscribe(supervisor, push_service.browser("sue-phone"))
    subscribe(supervisor, push_service.browser("sue-laptop"))
    subscribe(outsider, push_service.browser("olive"))

    answer = logged_in(supervisor).post("/push/unsubscribe", follow=True)

    assert "Push notifications are off." in answer.content.decode()
    assert list(Subscription.objects.values_list("user__username", flat=True)) == ["olive"]


def test_without_vapid_keys_push_is_off_and_the_page_says_so(api, supervisor, settings):
    settings.HITL_VAPID_PRIVATE_KEY = ""
    api.propose()

    page = logged_in(supervisor).get("/notifications/preferences").content.decode()

    assert "Push notifications are off on this server: it has no VAPID key pair." in page
    assert PushMessage.objects.count() == 0


def test_the_preferences_page_shows_push_on_and_the_key_to_subscribe_with(sues_phone, supervisor):
    page = logged_in(supervisor).get("/notifications/preferences").content.decode()

    assert f'data-vapid-key="{vapid.public_key()}"' in page
    assert "<strong>On</strong> for 1 browser:" in page


def test_vapid_keys_makes_a_pair_the_settings_take(capsys, settings):
    call_command("vapid_keys")

    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("HITL_VAPID_PRIVATE_KEY=")
    settings.HITL_VAPID_PRIVATE_KEY = line.split("=", 1)[1]
    assert len(vapid.public_key()) == 87  # 65 bytes, base64url: what applicationServerKey takes


# The installable inbox.


def test_the_manifest_is_served_as_a_manifest_with_icons_that_exist(client, settings):
    answer = client.get("/manifest.webmanifest")

    assert answer["Content-Type"] == "application/manifest+json"
    manifest = json.loads(answer.content)
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    for icon in manifest["icons"]:
        assert icon["src"].startswith(settings.STATIC_URL) or icon["src"].startswith("/" + settings.STATIC_URL)
        assert finders.find(icon["src"].split(settings.STATIC_URL, 1)[1])  # a committed file


def test_the_service_worker_is_served_from_the_root_as_javascript(client):
    answer = client.get("/sw.js")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/javascript; charset=utf-8"
    assert b'addEventListener("notificationclick"' in answer.content
    assert client.post("/sw.js").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_notification_after_the_proposal_commits(api, push_service, sues_phone):
    # No ping check: it needs a result backend, and the tasks here report through the database.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        api.propose()
        deadline = time.monotonic() + 20
        while not push_service.received and time.monotonic() < deadline:
            time.sleep(0.1)

    assert [payload["body"] for payload in received_by(push_service, sues_phone)] == [SUMMARY]
    assert PushMessage.objects.get().status == "sent"


@pytest.mark.parametrize(
    "user_agent, name",
    [
        (
            "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/143.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X) AppleWebKit/605.1.15 Mobile Safari/604.1",
            "Safari on iPhone",
        ),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:146.0) Gecko/20100101 Firefox/146.0", "Firefox on Windows"),
        ("", "A browser"),
    ],
)
def test_a_browser_is_named_for_the_person_from_its_user_agent(user_agent, name):
    assert Subscription.device_name(user_agent) == name
