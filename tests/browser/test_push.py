"""The installable inbox and its push notifications in Chromium: the manifest and the service
worker load under the strict Content Security Policy, the preferences page subscribes with the
server's VAPID key, and a push message delivered to the service worker (through the DevTools
protocol, as a push service would) shows a notification whose click opens the card and whose
Approve decides."""

import base64
import json
import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from approvals.models import Action
from audit.models import Event
from push import messages, vapid
from push.models import PushMessage, Subscription
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUMMARY = "Refund $750.00 to customer cus_123"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def problems(page):
    """Console errors and failed requests of the page and its service worker (a CSP violation
    is a console error in Chromium)."""
    found = []
    page.on("console", lambda message: message.type == "error" and found.append(message.text))
    page.on("pageerror", lambda error: found.append(str(error)))
    page.on("requestfailed", lambda request: found.append(f"{request.url}: {request.failure}"))
    return found


def service_worker_ready(page):
    """The active service worker's script URL, once it controls the page."""
    return page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            if (!navigator.serviceWorker.controller) {
                await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve));
            }
            return registration.active.scriptURL;
        }"""
    )


def notifications_shown(page, count=1, timeout=10):
    """The notifications the service worker shows, once there are `count`."""
    deadline = time.monotonic() + timeout
    while True:
        shown = page.evaluate(
            """async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(
                (n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                         actions: n.actions.map((a) => a.action)}))"""
        )
        if len(shown) >= count or time.monotonic() > deadline:
            return shown
        time.sleep(0.1)


def deliver_push(page, live_server, payload):
    """Hand `payload` to the page's service worker as its push service would, by the DevTools
    protocol (ServiceWorker.deliverPushMessage; decryption is the push service's and the browser's
    part, tested against a real push endpoint in tests/channels/test_push.py)."""
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    [registration] = [r for r in registrations if r["scopeURL"] == live_server.url + "/" and not r["isDeleted"]]
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration["registrationId"], "data": json.dumps(payload)},
    )


def click_notification(page, action=""):
    """A tap on the notification shown (or on one of its buttons, `action`). No protocol clicks a
    notification, so the service worker is handed the notificationclick event a tap dispatches."""
    [worker] = page.context.service_workers
    worker.evaluate(
        """async (action) => {
            const [notification] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent("notificationclick", {notification, action}));
        }""",
        action,
    )


def payload_for(action, user):
    """What push.messages sends `user`'s browser about `action`."""
    subscription = Subscription.objects.create(user=user, endpoint="http://127.0.0.1:9/push/x", p256dh="x", auth="x")
    return messages.payload_for(PushMessage(action=action, subscription=subscription, kind="new"))


# A real subscribe is impossible here: headless Chromium answers pushManager.subscribe with
# "AbortError: Registration failed - permission denied" even with notifications granted (tried),
# and Chromium's push service needs the network. So the page's call is recorded, with the key it
# asks with, and answered with a subscription the test made (keys a browser would make).
RECORD_SUBSCRIBE = """
PushManager.prototype.subscribe = async function (options) {
    await window.subscribedWith({userVisibleOnly: options.userVisibleOnly,
                                 key: Array.from(new Uint8Array(options.applicationServerKey))});
    return {toJSON: () => window.testSubscription};
};
"""


def test_the_manifest_and_service_worker_load_under_the_csp(page, live_server, supervisor, push_on, problems):
    log_in(page, live_server, supervisor)
    answer = page.goto(f"{live_server.url}/notifications/preferences")

    policy = answer.headers["content-security-policy"]
    assert "manifest-src 'self'" in policy and "worker-src 'self'" in policy and "unsafe" not in policy
    assert service_worker_ready(page) == f"{live_server.url}/sw.js"
    manifest = page.context.new_cdp_session(page).send("Page.getAppManifest")
    assert manifest["url"] == f"{live_server.url}/manifest.webmanifest"
    assert manifest["errors"] == []
    assert json.loads(manifest["data"])["name"] == "Countersign"
    page.reload()  # now controlled by the service worker
    expect(page.get_by_role("heading", name="Push notifications")).to_be_visible()
    assert problems == []


def test_turning_push_on_subscribes_with_the_servers_key_and_stores_the_subscription(
    page, live_server, supervisor, push_on, push_service, problems
):
    browser = push_service.browser("chromium")
    asked = []
    page.expose_function("subscribedWith", lambda options: asked.append(options))
    page.add_init_script(f"window.testSubscription = {json.dumps(browser.subscription())};" + RECORD_SUBSCRIBE)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    log_in(page, live_server, supervisor)
    page.goto(f"{live_server.url}/notifications/preferences")
    expect(page.get_by_text("Off on all your browsers.")).to_be_visible()
    service_worker_ready(page)

    page.get_by_role("button", name="Turn on for this browser").click()

    expect(page.get_by_text("On for 1 browser:")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Chrome on Linux")).to_be_visible()
    key = base64.urlsafe_b64decode(vapid.public_key() + "=")
    assert asked == [{"userVisibleOnly": True, "key": list(key)}]
    stored = Subscription.objects.get(user=supervisor)
    assert stored.info == browser.subscription()
    assert problems == []


@pytest.fixture
def sues_open_app(page, live_server, supervisor, push_on):
    """Sue, logged in, notifications allowed, her page controlled by the service worker."""
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    log_in(page, live_server, supervisor)
    page.goto(f"{live_server.url}/notifications/preferences")
    service_worker_ready(page)
    return page


def test_a_push_shows_the_summary_and_a_tap_opens_the_card(page, live_server, supervisor, sues_open_app, api, problems):
    action = Action.objects.select_related("action_type").get(pk=api.propose().json()["id"])

    deliver_push(page, live_server, payload_for(action, supervisor))
    [shown] = notifications_shown(page)
    assert (shown["title"], shown["body"], shown["actions"]) == ("Waiting for you", SUMMARY, [])  # irreversible
    click_notification(page)

    page.wait_for_url(f"{live_server.url}/actions/{action.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(SUMMARY)
    assert notifications_shown(page, count=0, timeout=0) == []  # the tap closed it
    assert problems == []


def test_approve_on_the_notification_approves_as_the_reviewer(
    page, live_server, supervisor, sues_open_app, api, reversible, settings, problems
):
    settings.HITL_PUSH_APPROVE_ACTION_TYPES = ["payments.refund"]
    action = Action.objects.select_related("action_type").get(pk=api.propose().json()["id"])

    deliver_push(page, live_server, payload_for(action, supervisor))
    [shown] = notifications_shown(page)
    assert shown["actions"] == ["approve", "reject"]
    click_notification(page, "approve")

    deadline = time.monotonic() + 10
    while Action.objects.get(pk=action.pk).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Action.objects.get(pk=action.pk).status == "approved"
    event = Event.objects.get(action_id=action.pk, kind="action.approved")
    assert (event.actor_name, event.data["channel"]) == ("sue", "push")
    assert [n["title"] for n in notifications_shown(page)] == [f"Approved: {SUMMARY}."]


def test_screenshot_of_the_preferences_page_on_a_phone_with_push_on(
    page, live_server, supervisor, push_on, push_service, tmp_path
):
    Subscription.objects.create(
        user=supervisor,
        endpoint=push_service.browser("phone").endpoint,
        p256dh="x",
        auth="x",
        device=Subscription.device_name(
            "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/143.0 Mobile Safari/537.36"
        ),
    )
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, supervisor)
    page.goto(f"{live_server.url}/notifications/preferences")
    heading = page.get_by_role("heading", name="Push notifications")
    heading.scroll_into_view_if_needed()

    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    expect(page.get_by_role("button", name="Turn off everywhere")).to_be_visible()
    shot = (SHOTS if os.environ.get("SCREENSHOTS") else tmp_path) / "push-preferences-phone.png"
    page.screenshot(path=str(shot), full_page=True)
