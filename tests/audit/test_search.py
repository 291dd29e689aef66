"""Auditors search the log: full text, every filter, keyset pages; nobody else may."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.log import Actor, append_many
from audit.models import Event
from audit.verification import verify_chain
from tests.audit.conftest import append, superuser_edit

pytestmark = pytest.mark.django_db

REFUND_ID = uuid.UUID("11111111-1111-1111-1111-111111111111")
EMAIL_ID = uuid.UUID("22222222-2222-2222-2222-222222222222")


@pytest.fixture
def history():
    refund = {
        "action_id": REFUND_ID,
        "action_type": "payments.refund",
        "agent": "billing-agent",
        "session_id": "run-42",
        "model": "gpt-4o",
        "prompt_version": "refunds-v3",
    }
    email = {
        "action_id": EMAIL_ID,
        "action_type": "email.send",
        "agent": "Mail-Agent",
        "session_id": "run-7",
        "model": "claude-sonnet",
        "prompt_version": "mail-v1",
    }
    append(
        "action.proposed",
        actor=Actor("agent", "1", "billing-agent"),
        summary="Refund $750.00 to customer cus_123",
        data={"proposal": {"params": {"customer": "cus_123", "amount": 750}}},
        **refund,
    )
    append("action.rejected", actor=Actor("user", "5", "sue"), data={"reason": "duplicate of a chargeback"}, **refund)
    append(
        "action.proposed",
        actor=Actor("agent", "2", "mail-agent"),
        summary="Email the quarterly invoice to ada@example.com",
        data={"proposal": {"params": {"to": "ada@example.com"}}},
        **email,
    )
    append("action.approved", actor=Actor("user", "6", "sam"), data={"reason": ""}, **email)
    append("action.executed", actor=Actor("agent", "2", "mail-agent"), data={"status": "succeeded"}, **email)
    append("user.login", actor=Actor("user", "5", "sue"))


def seqs(response):
    return [event.seq for event in response.context["events"]]


def test_the_audit_log_needs_a_login(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/audit/", "/audit/export?format=csv", "/audit/export?format=jsonl"])
def test_only_auditors_and_superusers_may_search_and_export(client, outsider, supervisor, superuser, path):
    for user in (outsider, supervisor):
        client.force_login(user)
        assert client.get(path).status_code == 403
    client.force_login(superuser)
    assert client.get(path).status_code == 200
    assert not Event.objects.filter(kind="audit.exported", actor_name__in=["olive", "sue"]).exists()


def test_the_audit_pages_accept_only_get(client, auditor):
    client.force_login(auditor)
    assert client.post("/audit/").status_code == 405
    assert client.post("/audit/export?format=csv").status_code == 405


def test_the_page_lists_the_newest_events_first_with_links_to_their_actions(client, auditor, history):
    client.force_login(auditor)
    response = client.get("/audit/")

    assert seqs(response) == [7, 6, 5, 4, 3, 2, 1]  # 7: the auditor's own login
    assert f'href="/actions/{REFUND_ID}/"' in response.text
    assert "Refund $750.00 to customer cus_123" in response.text
    assert 'href="/audit/">Audit</a>' in response.text


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=refunds", [2, 1]),  # a summary, an action type (stemmed: "Refund" and "refunds" match)
        ("q=payments.refund", [2, 1]),
        ("q=cus_123", [1]),  # a parameter
        ("q=chargeback", [2]),  # a reason
        ("q=ada%40example.com", [3]),
        ("q=invoice", [3]),
        ("q=refund+OR+invoice", [3, 2, 1]),
        ("q=refund+-chargeback", [1]),
        ("q=nothing-like-this", []),
        ("agent=Mail-Agent", [5, 4, 3]),
        ("agent=mail", [5, 4, 3]),  # the start of the name, in any case
        ("agent=BILLING-agent", [2, 1]),
        ("agent=agent", []),  # not the middle of a name
        ("model=gpt-4o", [2, 1]),
        ("prompt_version=mail-v1", [5, 4, 3]),
        ("model=claude-sonnet&prompt_version=refunds-v3", []),
        ("action_type=payments.refund", [2, 1]),
        ("kind=action.proposed", [3, 1]),
        ("actor=sue", [6, 2]),
        ("session=run-42", [2, 1]),
        ("outcome=rejected", [2, 1]),
        ("outcome=executed", [5, 4, 3]),
        ("outcome=approved", [5, 4, 3]),
        ("q=refund&agent=mail-agent", []),
        ("kind=action.proposed&session=run-7", [3]),
    ],
)
def test_search_and_every_filter(client, auditor, history, query, expected):
    client.force_login(auditor)
    response = client.get(f"/audit/?{query}")

    assert response.status_code == 200
    assert [s for s in seqs(response) if s <= 6] == expected


def test_events_of_a_kind_since_renamed_are_still_found_and_offered(client, auditor):
    # An expedited question was audited as `question.escalated` before "escalation" meant only
    # the SLA tier move; the log keeps those events as they were written.
    append("question.escalated", actor=Actor("agent", "1", "support-agent"), data={"message": "On the phone"})
    client.force_login(auditor)

    response = client.get("/audit/?kind=question.escalated")

    assert seqs(response) == [1]
    assert '<option value="question.escalated">' in response.content.decode()
    assert '<option value="question.expedited">' in response.content.decode()


def test_the_time_range_filter(client, auditor, history):
    old = timezone.now() - timedelta(days=3)
    append_many([Event(at=old, kind="long.ago", actor_kind="system", actor_name="tests")])
    client.force_login(auditor)
    since = (old - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    until = (old + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    assert seqs(client.get(f"/audit/?since={since}&until={until}")) == [7]
    assert 7 not in seqs(client.get(f"/audit/?since={until}"))


def test_invalid_search_input_is_a_clear_400(client, auditor, history):
    client.force_login(auditor)
    response = client.get("/audit/?since=yesterday-ish&outcome=maybe")

    assert response.status_code == 400
    assert "since: Enter a valid date/time." in response.text
    assert "outcome: Select a valid choice." in response.text


def test_keyset_pages_walk_the_whole_search_without_overlap(client, auditor):
    append_many(Event(at=timezone.now(), kind="bulk.event", actor_kind="system", data={"i": i}) for i in range(120))
    client.force_login(auditor)

    first = client.get("/audit/?kind=bulk.event")
    second = client.get(f"/audit/?kind=bulk.event&before={seqs(first)[-1]}")
    third = client.get(f"/audit/?kind=bulk.event&before={seqs(second)[-1]}")

    assert seqs(first) == list(range(120, 70, -1))
    assert seqs(second) == list(range(70, 20, -1))
    assert seqs(third) == list(range(20, 0, -1))
    assert "kind=bulk.event&amp;before=71" in first.text
    assert "Older" not in third.text and "Newest" in third.text


def test_the_page_shows_when_the_chain_was_last_verified(client, auditor, history):
    client.force_login(auditor)
    assert "The chain has not been verified yet." in client.get("/audit/").text

    verify_chain()
    assert "Chain intact: verified" in client.get("/audit/").text

    with superuser_edit():
        Event.objects.filter(seq=2).update(data={"reason": "none"})
    verify_chain(full=True)
    page = client.get("/audit/").text
    assert "Chain BROKEN" in page and "event #2 (action.rejected" in page


def test_agent_text_is_escaped(client, auditor):
    append("action.proposed", summary="<script>alert(1)</script>")
    client.force_login(auditor)
    response = client.get("/audit/")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_full_text_pages_widen_their_window_until_the_page_is_full(client, auditor, monkeypatch):
    monkeypatch.setattr("audit.models.SEARCH_WINDOW", 7)
    append_many(
        Event(at=timezone.now(), kind="bulk.event" if i % 3 else "other.event", actor_kind="system", data={"i": i})
        for i in range(200)
    )
    client.force_login(auditor)
    expected = list(Event.objects.filter(kind="bulk.event").order_by("-seq").values_list("seq", flat=True))

    first = client.get("/audit/?q=bulk")
    second = client.get(f"/audit/?q=bulk&before={seqs(first)[-1]}")
    third = client.get(f"/audit/?q=bulk&before={seqs(second)[-1]}")

    assert seqs(first) + seqs(second) + seqs(third) == expected


@pytest.mark.parametrize(
    "search, index",
    [
        ({"agent": "AGENT-7"}, "event_agent_prefix_seq"),
        ({"model": "model-7"}, "event_model_seq"),
        ({"prompt_version": "prompt-7"}, "event_prompt_version_seq"),
    ],
)
def test_the_agent_model_and_prompt_version_filters_use_an_index(search, index):
    # A log of millions must not be read event by event to find one agent's, model's or prompt's.
    from django.db import connection

    from audit.forms import SearchForm

    now = timezone.now()
    append_many(
        Event(
            at=now,
            kind="note.written",
            actor_kind="system",
            agent=f"agent-{i % 50}",
            model=f"model-{i % 50}",
            prompt_version=f"prompt-{i % 50}",
            data={},
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_event")
    form = SearchForm(search)
    assert form.is_valid()

    assert index in form.events().order_by().only("seq").explain()
