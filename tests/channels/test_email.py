"""Deciding from an email: the card in plain words, and links that never decide on a GET."""

import email
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.urls import reverse

from approvals import notifications
from approvals.models import Notification, NotificationPreference
from audit.models import Event
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


class Inbox:
    """aiosmtpd's handler: keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port: the controller checks its server by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield inbox
    controller.stop()


def warn(action, address):
    """An SLA warning to `address`, delivered as the worker delivers it."""
    notification = Notification.objects.create(
        action=action, kind=Notification.Kind.WARNING, channel="email", target=address, dedup_key=address
    )
    assert notifications.deliver(notification.pk) is None


def links(message):
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    return body, {
        verdict: url.replace("http://127.0.0.1:8000", "")
        for verdict, url in re.findall(r"(Approve|Reject): (\S+)", body)
    }


def test_the_email_shows_the_card_in_plain_words_with_decision_links(pending, supervisor, smtp):
    warn(pending, supervisor.email)

    [message] = smtp.messages
    body, found = links(message)
    assert message["To"] == "sue@example.com"
    assert "Refund $750.00 to customer cus_123" in body and "Amount: $750.00" in body
    assert "Risk: Irreversible" in body
    assert "The agent's words (not checked by Countersign):\n  Customer reports a double charge" in body
    assert set(found) == {"Approve", "Reject"}


def test_opening_the_link_decides_nothing_until_the_reviewer_confirms(pending, supervisor, smtp, client):
    warn(pending, supervisor.email)
    approve = links(smtp.messages[0])[1]["Approve"]

    assert client.get(approve)["Location"].startswith(reverse("login"))  # log in, then come back
    client.force_login(supervisor)
    page = client.get(approve)
    pending.refresh_from_db()
    assert page.status_code == 200 and b"Approve</button>" in page.content and pending.status == "pending"

    client.post(approve)

    pending.refresh_from_db()
    assert pending.status == "approved" and pending.decision.by_name == "sue"
    approved = Event.objects.get(kind="action.approved")
    assert approved.data["channel"] == "email"
    # The link is opened in a signed-in session: the person is who that session verified.
    identity = {"method": "password", "issuer": settings.SITE_URL, "subject": str(supervisor.pk)}
    assert approved.data["identity"] == identity


def test_a_link_works_once(pending, supervisor, smtp, client):
    warn(pending, supervisor.email)
    reject = links(smtp.messages[0])[1]["Reject"]
    client.force_login(supervisor)

    client.post(reject, {"common": "Against policy"})
    again = client.post(reject, {"common": "Against policy"})

    assert again.status_code == 409 and b"This link was used already." in again.content
    assert Event.objects.filter(kind="action.rejected").get().data["channel"] == "email"


def test_a_link_is_for_the_reviewer_it_was_sent_to(pending, supervisor, second_supervisor, smtp, client):
    warn(pending, supervisor.email)
    approve = links(smtp.messages[0])[1]["Approve"]
    client.force_login(second_supervisor)

    refused = client.post(approve)

    assert refused.status_code == 403 and b"sent to another reviewer" in refused.content
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_an_expired_or_altered_link_is_refused(pending, supervisor, smtp, client, settings):
    warn(pending, supervisor.email)
    approve = links(smtp.messages[0])[1]["Approve"]
    client.force_login(supervisor)

    assert b"not valid" in client.post(approve[:-3] + "xyz").content
    settings.HITL_EMAIL_LINK_MAX_AGE_SECONDS = -1  # every link is past its age
    assert b"expired" in client.post(approve).content
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_rejection_needs_a_reason(pending, supervisor, smtp, client):
    warn(pending, supervisor.email)
    reject = links(smtp.messages[0])[1]["Reject"]
    client.force_login(supervisor)

    refused = client.post(reject, {"common": "", "reason": ""})

    assert refused.status_code == 422 and b"Say why you reject it" in refused.content
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_an_address_that_is_nobodys_gets_no_decision_links(pending, smtp):
    warn(pending, "ops@example.com")

    body, found = links(smtp.messages[0])
    assert found == {} and "Open it: http://" in body


def test_the_digest_carries_each_reviewers_own_links(pending, supervisor, smtp):
    NotificationPreference.objects.create(user=supervisor, delivery="hourly")
    make_user("ann")  # another person, no links for her

    assert notifications.queue_digests() == 1
    [digest] = Notification.objects.filter(kind="digest")
    assert notifications.deliver(digest.pk) is None

    body, found = links(smtp.messages[0])
    assert "Refund $750.00 to customer cus_123" in body and set(found) == {"Approve", "Reject"}
