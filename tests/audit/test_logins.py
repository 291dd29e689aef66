"""Logins, failed logins and logouts are in the log, with names that outlive the user."""

import pytest

from audit.models import Event
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_login_is_recorded(client, auditor):
    response = client.post("/accounts/login/", {"username": "audrey", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7")

    assert response.status_code == 302
    event = Event.objects.get(kind="user.login")
    assert (event.actor_kind, event.actor_id, event.actor_name) == ("user", str(auditor.pk), "audrey")
    assert event.data["ip"] == "10.0.0.7"


def test_a_failed_login_is_recorded_without_the_password(client, auditor):
    response = client.post("/accounts/login/", {"username": "audrey", "password": "guess"})

    assert response.status_code == 200
    event = Event.objects.get(kind="user.login_failed")
    assert (event.actor_kind, event.actor_name, event.data["username"]) == ("anonymous", "audrey", "audrey")
    assert "guess" not in str(event.data)
    assert not Event.objects.filter(kind="user.login").exists()


def test_a_logout_is_recorded_and_the_name_survives_the_user(client, auditor):
    client.force_login(auditor)
    client.post("/accounts/logout/")
    auditor.delete()

    assert list(Event.objects.values_list("kind", "actor_name")) == [
        ("user.login", "audrey"),
        ("user.logout", "audrey"),
    ]
