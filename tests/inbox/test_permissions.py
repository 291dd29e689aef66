"""Every inbox view: login required, 403 for another's type, 404 for an unknown action, 405 for the wrong verb."""

import pytest

from approvals.models import Action

pytestmark = pytest.mark.django_db

UNKNOWN = "00000000-0000-0000-0000-000000000000"
# (path after /actions/<id>/, the method it allows, the one it refuses)
ACTION_VIEWS = [("", "get", "post"), ("edit", "get", "put"), ("approve", "post", "get"), ("reject", "post", "get"),
                ("done", "post", "get"), ("dismiss", "post", "get")]


@pytest.mark.parametrize(("view", "allowed", "refused"), ACTION_VIEWS)
def test_an_outsider_gets_403_and_nothing_changes(client, outsider, pending, view, allowed, refused):
    client.force_login(outsider)

    response = getattr(client, allowed)(f"/actions/{pending.pk}/{view}", {"reason": "x"})

    assert response.status_code == 403
    assert Action.objects.get(pk=pending.pk).status == "pending"


@pytest.mark.parametrize(("view", "allowed", "refused"), ACTION_VIEWS)
def test_an_unknown_action_is_404(client, supervisor, view, allowed, refused):
    client.force_login(supervisor)

    assert getattr(client, allowed)(f"/actions/{UNKNOWN}/{view}").status_code == 404


@pytest.mark.parametrize(("view", "allowed", "refused"), ACTION_VIEWS)
def test_the_wrong_method_is_405(client, supervisor, pending, view, allowed, refused):
    client.force_login(supervisor)

    assert getattr(client, refused)(f"/actions/{pending.pk}/{view}").status_code == 405


@pytest.mark.parametrize("path", ["/", "/inbox/changes", f"/actions/{UNKNOWN}/", "/batch/approve"])
def test_every_page_needs_a_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_batch_view_answers_403_404_and_405(client, supervisor, outsider, pending):
    client.force_login(supervisor)
    assert client.get("/batch/approve", {"ids": [UNKNOWN]}).status_code == 404
    assert client.get("/batch/approve", {"ids": ["not-a-uuid"]}).status_code == 404
    assert client.get("/batch/approve")["Location"] == "/"  # nothing selected: back, with a hint
    assert client.put("/batch/approve").status_code == 405
    client.force_login(outsider)
    assert client.get("/batch/approve", {"ids": [pending.pk]}).status_code == 403
    assert client.post("/batch/approve", {"ids": [pending.pk]}).status_code == 403


def test_the_inbox_and_its_poll_are_get_only(client, supervisor):
    client.force_login(supervisor)

    assert client.post("/").status_code == 405
    assert client.post("/inbox/changes").status_code == 405
