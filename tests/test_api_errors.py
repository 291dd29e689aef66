"""Every answer under /api/v1/ is JSON in the documented error shape, the ones no endpoint gives too:
an unknown path, a method an endpoint does not take, a failure nobody caught."""

import pytest
from django.test import Client

from approvals.models import Action

pytestmark = pytest.mark.django_db


def error_of(response):
    assert response["Content-Type"].startswith("application/json"), response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/humanlayer/nothing-here", "/api/v1/actions/x/y/z"])
def test_an_unknown_path_is_a_json_404(api, path):
    response = api.client.get(path, headers=api.headers)

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert path in error["message"]


def test_an_unknown_path_is_a_json_404_without_a_token_too(client):
    response = client.post("/api/v1/nothing-here", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/actions", "POST"),
        ("put", "/api/v1/action-types", "GET"),
        ("get", "/api/v1/humanlayer/function_calls", "POST"),
    ],
)
def test_a_method_an_endpoint_does_not_take_is_a_json_405_naming_the_ones_it_does(api, method, path, allowed):
    response = getattr(api.client, method)(path, headers=api.headers)

    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert allowed in error["message"] and allowed in response["Allow"]


def test_a_failure_nobody_caught_is_a_json_500(token, pending, monkeypatch):
    def broken(self):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Action, "as_api", broken)
    client = Client(raise_request_exception=False)

    response = client.get(f"/api/v1/actions/{pending.pk}", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "a bug" not in error["message"]  # the details are in the log, not in the answer


def test_pages_outside_the_api_keep_their_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
