"""Local passwords: on by default, and the break-glass switch that keeps one named account's password
when everyone else signs in through the identity provider. A password sign-in is a verified identity
too: its decisions name Countersign as the issuer and the user's id as the subject."""

import re

import httpx
import pytest

from approvals.models import Action
from audit.models import Event
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "http://127.0.0.1:8000"  # SITE_URL: a local account's issuer is Countersign itself


def log_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


@pytest.fixture
def break_glass(settings, superuser):
    settings.HITL_LOCAL_PASSWORDS = "break-glass"
    settings.HITL_BREAK_GLASS_USER = superuser.username
    settings.HITL_OIDC_ISSUER, settings.HITL_OIDC_CLIENT_ID = "https://idp.example", "countersign"
    settings.HITL_OIDC_PROVIDER_NAME = "Okta"


def test_with_break_glass_on_a_password_signs_in_nobody_but_the_named_account(client, break_glass, supervisor):
    refused = log_in(client, "sue")

    assert refused.status_code == 200
    assert "That user name and password do not match" in refused.text
    assert "_auth_user_id" not in client.session
    failed = Event.objects.get(kind="user.login_failed")
    assert failed.data["username"] == "sue"


def test_with_break_glass_on_the_named_account_still_signs_in_with_its_password(client, break_glass, superuser):
    answer = log_in(client, "root")

    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)
    login = Event.objects.get(kind="user.login")
    assert login.data["identity"] == {"method": "password", "issuer": SITE, "subject": str(superuser.pk)}


def test_with_break_glass_on_the_login_page_leads_with_the_provider_and_folds_the_password_away(client, break_glass):
    page = client.get("/accounts/login/").text

    assert 'href="/accounts/oidc/start/"' in page
    assert "Sign in with Okta" in page
    assert re.search(r'<details class="break-glass">\s*<summary>Break-glass account</summary>', page)


def test_without_a_provider_the_login_page_is_the_password_form_alone(client):
    page = client.get("/accounts/login/").text

    assert "Sign in with" not in page
    assert "break-glass" not in page
    assert 'name="password"' in page


def test_by_default_every_account_signs_in_with_its_password(client, supervisor):
    assert log_in(client, "sue").status_code == 302


def test_a_decision_after_a_password_sign_in_names_the_local_identity(asgi_url, supervisor, reversible, pending):
    with httpx.Client(base_url=asgi_url, timeout=30) as browser:
        form = browser.get("/accounts/login/").text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        signed_in = browser.post(
            "/accounts/login/", data={"username": "sue", "password": PASSWORD, "csrfmiddlewaretoken": csrf}
        )
        assert signed_in.status_code == 302
        approved = browser.post(
            f"/actions/{pending.pk}/approve",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": asgi_url + "/"},
        )

    assert approved.status_code in (200, 302), approved.text
    assert Action.objects.get(pk=pending.pk).status == Action.Status.APPROVED
    event = Event.objects.get(kind="action.approved", action_id=pending.pk)
    assert event.data["identity"] == {"method": "password", "issuer": SITE, "subject": str(supervisor.pk)}
