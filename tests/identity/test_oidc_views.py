"""The OIDC endpoints refuse what is not the provider's answer to a sign-in Countersign began, and
say why; nothing signs anyone in."""

import pytest

from audit.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_callback_nobody_started_is_refused_and_audited(client, provider):
    answer = client.get("/accounts/oidc/callback/", {"code": "stolen", "state": "made-up"})

    assert answer.status_code == 403
    assert "The identity provider&#x27;s answer was refused" in answer.text
    assert "_auth_user_id" not in client.session
    assert Event.objects.get(kind="user.login_failed").data["method"] == "oidc"


def test_a_provider_error_is_shown_not_signed_in(client, provider):
    answer = client.get("/accounts/oidc/callback/", {"error": "access_denied", "error_description": "User cancelled"})

    assert answer.status_code == 403
    assert "User cancelled" in answer.text
    assert "_auth_user_id" not in client.session


def test_starting_sends_the_browser_to_the_provider_with_pkce(client, provider):
    answer = client.get("/accounts/oidc/start/", {"next": "/audit/"})

    assert answer.status_code == 302
    location = answer["Location"]
    assert location.startswith(f"{provider.issuer}/auth?")
    assert "code_challenge_method=S256" in location and "code_challenge=" in location
    assert "nonce=" in location and "state=" in location
    assert client.session["countersign.oidc_next"] == "/audit/"


def test_starting_keeps_no_next_page_on_another_site(client, provider):
    client.get("/accounts/oidc/start/", {"next": "https://evil.example/"})

    assert "countersign.oidc_next" not in client.session


def test_without_a_provider_starting_says_it_is_not_set_up(client):
    answer = client.get("/accounts/oidc/start/")

    assert answer.status_code == 404
    assert "not set up here" in answer.text


@pytest.mark.parametrize(
    "path", ["/accounts/oidc/start/", "/accounts/oidc/callback/", "/.well-known/oauth-protected-resource"]
)
def test_they_answer_only_get(client, path):
    assert client.post(path).status_code == 405
