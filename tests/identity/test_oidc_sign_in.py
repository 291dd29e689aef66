"""People sign in through the organisation's OpenID provider (the real one in conftest, its own
sign-in page driven in Chromium), get an account and roles just in time, decide, and the audit log
names the verified person. Removed at the provider, they decide nothing after the stated bound."""

import re

import pytest
from django.contrib.auth.models import Group, User
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from approvals.models import Action
from audit.models import Event
from hitl_site import roles
from identity.models import ExternalIdentity
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_with_provider(page, asgi_url, login):
    page.goto(f"{asgi_url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Example IdP").click()
    # The provider's own page (oidc-provider's sign-in form).
    page.get_by_placeholder("Enter any login").fill(login)
    page.get_by_placeholder("and password").fill("correct horse")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(re.compile(re.escape(asgi_url) + r"/$"))
    page.wait_for_load_state("load")


@pytest.fixture
def refunds_reviewed_by_supervisors(reversible, provider):
    assign_perm("policies.review_actiontype", Group.objects.get(name=roles.SUPERVISORS), reversible)
    return reversible


def test_a_person_signs_in_with_the_provider_and_gets_an_account_and_roles(page, asgi_url, provider):
    sign_in_with_provider(page, asgi_url, "alice")

    expect(page.locator(".logout")).to_contain_text("alice")
    user = User.objects.get(username="alice")
    assert user.email == "alice@example.com"
    assert not user.has_usable_password()  # signs in through the provider only
    assert list(user.groups.values_list("name", flat=True)) == ["supervisors"]  # "cs-supervisors"; "staff" maps to none
    assert ExternalIdentity.objects.filter(user=user, issuer=provider.issuer, subject="alice").exists()
    login = Event.objects.filter(kind="user.login").get()
    assert login.actor_name == "alice"
    assert login.data["identity"] == {"method": "oidc", "issuer": provider.issuer, "subject": "alice"}
    provisioned = Event.objects.get(kind="user.provisioned")
    assert provisioned.data["roles"] == {"added": ["supervisors"], "removed": []}


def test_the_login_page_offers_the_provider_at_phone_and_desktop_width(page, asgi_url, provider, tmp_path):
    for width, height in ((390, 844), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{asgi_url}/accounts/login/")
        button = page.get_by_role("link", name="Sign in with Example IdP")
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        page.screenshot(path=str(tmp_path / f"login-{width}.png"))


def test_with_break_glass_on_the_password_form_stays_folded_until_asked_for(
    page, asgi_url, provider, settings, superuser, tmp_path
):
    settings.HITL_LOCAL_PASSWORDS, settings.HITL_BREAK_GLASS_USER = "break-glass", "root"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{asgi_url}/accounts/login/")

    expect(page.get_by_role("link", name="Sign in with Example IdP")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_hidden()
    page.get_by_text("Break-glass account").click()
    page.get_by_label("User name").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=str(tmp_path / "break-glass-390.png"))
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(re.compile(re.escape(asgi_url) + r"/$"))
    expect(page.locator(".logout")).to_contain_text("root")


def test_a_decision_names_the_verified_person(page, asgi_url, provider, refunds_reviewed_by_supervisors, api):
    action_id = api.propose().json()["id"]
    sign_in_with_provider(page, asgi_url, "alice")

    page.locator(f"#action-{action_id}").get_by_role("button", name="Approve").click()

    expect(page.locator(f"#action-{action_id}")).to_contain_text("Approved by alice")
    approved = Event.objects.get(kind="action.approved", action_id=action_id)
    assert approved.actor_name == "alice"
    assert approved.data["identity"] == {"method": "oidc", "issuer": provider.issuer, "subject": "alice"}
    assert approved.data["channel"] == "web"
    # The audit log shows whom the provider vouched for.
    page.goto(f"{asgi_url}/actions/{action_id}/")
    expect(page.locator("#timeline")).to_contain_text("by alice (oidc)")


def test_a_person_removed_at_the_provider_decides_nothing_once_the_bound_has_passed(
    page, asgi_url, provider, settings, refunds_reviewed_by_supervisors, api
):
    settings.HITL_OIDC_RECHECK_SECONDS = 0  # the bound: every decision asks the provider
    action_id = api.propose().json()["id"]
    sign_in_with_provider(page, asgi_url, "alice")

    provider.remove("alice")
    page.locator(f"#action-{action_id}").get_by_role("button", name="Approve").click()

    page.wait_for_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("status")).to_contain_text("no longer confirms your account")
    assert Action.objects.get(pk=action_id).status == Action.Status.PENDING
    signed_out = Event.objects.get(kind="user.signed_out")
    assert signed_out.actor_name == "alice" and signed_out.data["bound_seconds"] == 0
    # Nor can they sign in again: the provider no longer knows them.
    page.goto(f"{asgi_url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Example IdP").click()
    page.wait_for_load_state("load")  # the provider refuses (it no longer finds the account)
    page.goto(f"{asgi_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # never let back in
    assert Action.objects.get(pk=action_id).status == Action.Status.PENDING


def test_within_the_bound_the_provider_is_not_asked_on_every_decision(
    page, asgi_url, provider, settings, refunds_reviewed_by_supervisors, api
):
    settings.HITL_OIDC_RECHECK_SECONDS = 3600
    action_id = api.propose().json()["id"]
    sign_in_with_provider(page, asgi_url, "alice")

    provider.remove("alice")
    page.locator(f"#action-{action_id}").get_by_role("button", name="Approve").click()

    # The documented window: a removal is seen at the next check, at most the bound later.
    expect(page.locator(f"#action-{action_id}")).to_contain_text("Approved by alice")


def test_when_the_provider_cannot_be_asked_nothing_is_decided(
    page, asgi_url, provider, settings, refunds_reviewed_by_supervisors, api
):
    settings.HITL_OIDC_RECHECK_SECONDS = 0
    action_id = api.propose().json()["id"]
    sign_in_with_provider(page, asgi_url, "alice")

    provider.stop()
    with page.expect_response(re.compile(r"/approve$")) as answer:
        page.locator(f"#action-{action_id}").get_by_role("button", name="Approve").click()

    assert answer.value.status == 503  # fails closed: the decision waits for the provider
    assert Action.objects.get(pk=action_id).status == Action.Status.PENDING
