"""The account a verified person gets just in time, and the roles the configured claim gives and
takes away at each sign-in."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from audit.models import Event
from hitl_site import roles
from identity.models import ExternalIdentity

ISSUER = "https://idp.example"


@pytest.fixture
def role_map(settings, db):
    roles.install()
    settings.HITL_OIDC_ROLE_MAP = {"cs-reviewers": "supervisors", "cs-audit": "auditors"}
    settings.HITL_OIDC_ROLES_CLAIM = "groups"


def sign_in(subject="00u1", **claims):
    return ExternalIdentity.sign_in(issuer=ISSUER, subject=subject, claims={"sub": subject, **claims})


def test_a_first_sign_in_makes_an_account_named_after_the_person(role_map):
    user = sign_in(preferred_username="ann", email="ann@example.com", groups=["cs-reviewers"])

    assert (user.username, user.email) == ("ann", "ann@example.com")
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["supervisors"]
    assert Event.objects.get(kind="user.provisioned").data["subject"] == "00u1"


def test_a_second_person_with_the_same_name_gets_a_name_of_their_own(role_map):
    User.objects.create_user("ann")

    user = sign_in(preferred_username="ann")

    assert user.username == "ann-2"


def test_roles_follow_the_claim_at_each_sign_in_and_others_are_left_alone(role_map):
    user = sign_in(preferred_username="ann", groups=["cs-reviewers"])
    user.groups.add(roles_group("sample_reviewers"))  # given by an admin, outside the map

    again = sign_in(preferred_username="ann", groups=["cs-audit"])

    assert again.pk == user.pk
    assert sorted(again.groups.values_list("name", flat=True)) == ["auditors", "sample_reviewers"]
    changed = Event.objects.get(kind="user.roles_changed")
    assert changed.data["roles"] == {"added": ["auditors"], "removed": ["supervisors"]}


def test_a_groups_claim_given_as_one_string_is_split_on_spaces(role_map):
    user = sign_in(preferred_username="ann", groups="cs-reviewers cs-audit")

    assert sorted(user.groups.values_list("name", flat=True)) == ["auditors", "supervisors"]


def test_a_disabled_account_is_not_signed_in(role_map):
    user = sign_in(preferred_username="ann")
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert sign_in(preferred_username="ann") is None


def test_a_role_map_naming_no_role_is_refused_at_start():
    env = {**os.environ, "HITL_OIDC_ROLE_MAP": "cs-reviewers=reviewers", "DJANGO_SETTINGS_MODULE": "hitl_site.settings"}

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "HITL_OIDC_ROLE_MAP names reviewers, not a role" in result.stderr


def test_the_roles_a_map_may_name_are_the_roles(settings):
    assert set(settings.KNOWN_ROLES) == set(roles.ROLES)


def roles_group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)
