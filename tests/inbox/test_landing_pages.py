"""Each person starts where their work is, a refused page explains itself, a failed login keeps
the user name, and the "(JSON)" panels and the audit details are JSON."""

import json

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_auditor_starts_at_the_audit_log_and_a_sample_reviewer_at_the_samples(client, auditor, sample_reviewer):
    client.force_login(auditor)
    assert client.get("/").headers["Location"] == "/audit/"
    client.force_login(sample_reviewer)
    assert client.get("/").headers["Location"] == "/samples/"


def test_a_supervisor_and_a_policy_admin_still_start_at_the_inbox(client, supervisor, policy_admin):
    for person in (supervisor, policy_admin):
        client.force_login(person)
        assert client.get("/").status_code == 200


def test_a_refused_page_is_a_page_that_says_why(client, supervisor):
    client.force_login(supervisor)
    refused = client.get("/audit/")
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "You may not open this page" in page and 'class="topbar"' in page
    assert "logged in as sue" in page


def test_a_failed_login_keeps_the_user_name(client, supervisor):
    failed = client.post("/accounts/login/", {"username": "sue", "password": "not " + PASSWORD})
    page = failed.content.decode()
    assert "do not match" in page
    assert 'value="sue"' in page


def test_the_action_page_shows_parameters_and_event_details_as_json(client, supervisor, pending):
    client.force_login(supervisor)
    page = client.get(f"/actions/{pending.pk}/").content.decode()
    shown = json.dumps(pending.params, indent=2).replace('"', "&quot;")
    assert shown in page
    assert "{&#x27;" not in page  # no Python repr of a dict anywhere on the page
